#!/usr/bin/env bash
# Runs ucdesk (README): installs the runtime libraries, builds the app with its bundled
# plugins, and starts it. Arguments go to `ucdesk` (e.g. `./run.sh daemon`,
# `./run.sh plugins`).
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ucdesk-target}"
tests/lab/debian-packages.sh app
# Everything but the test fixtures: plugins land beside the binary, where it finds them.
cargo build --release --workspace --exclude ucdesk-tests --exclude 'ucdesk-fixture-*'
exec "$CARGO_TARGET_DIR/release/ucdesk" "$@"
