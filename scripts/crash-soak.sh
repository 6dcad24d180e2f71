#!/usr/bin/env bash
# The long crash-safety soak: kill -9 of `duro run` at N random moments (default 1000) for a plain
# table and for a Python processor table, each time checking the table is whole (tests/crash.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
export DURO_CRASH_ITERATIONS="${1:-1000}"
exec cargo test --test crash -- --nocapture --test-threads 2
