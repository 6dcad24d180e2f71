#!/usr/bin/env bash
# The project's test command (README): formatting, lints, then every test.
# Integration tests that need PostgreSQL use $DURO_TEST_DATABASE_URL when set, otherwise they
# start a throwaway cluster from the system's PostgreSQL binaries (initdb/pg_ctl).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
# clippy and the tests share one run of libduckdb-sys's build script, which compiles DuckDB's
# C++ (21-24 minutes from scratch on two cores, measured): the dev profile gives build scripts no
# debug info explicitly (Cargo.toml says why), so both compile the script the same way.
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked
