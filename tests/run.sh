#!/usr/bin/env bash
# The test command (README): installs what the tests need, builds every crate and
# plugin, and runs the whole suite. Safe to rerun; the target dir lives outside the
# clone so reruns are incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ucdesk-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

tests/lab/debian-packages.sh test

if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi
# The package's test makes the .deb with cargo-deb (the version package.sh uses).
if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb 3.8.0" ]; then
  cargo install cargo-deb --locked --version 3.8.0
fi
# The browser add-on's test drives the system's Chromium with playwright-core (npm,
# pinned by tests/browser/package-lock.json; it downloads no browser).
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

# House rules first: formatting and clippy (with the workspace lints) gate the suite.
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

# The cross-crate tests load the built cdylibs and run the built binary, which
# `cargo test` alone would not produce.
cargo build --workspace --all-targets
# nextest does not run doctests; run them first so the suite's summary closes the log.
cargo test --workspace --doc --quiet
cargo nextest run --workspace --no-fail-fast
