#!/usr/bin/env bash
# The project's test command (README): formatting, lints, then every test.
# Integration tests that need PostgreSQL use $DURO_TEST_DATABASE_URL when set, otherwise they
# start a throwaway cluster from the system's PostgreSQL binaries (initdb/pg_ctl).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
# The default (dev) profile: `cargo test` builds the dependencies with it too, so both share one
# run of the bundled DuckDB build script (≈ 20 minutes from scratch on two cores). `--profile
# test` would build every dependency, DuckDB included, a second time.
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked
