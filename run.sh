#!/usr/bin/env bash
# Runs ucdesk (README). Installs the runtime libraries, builds the app with its
# bundled plugins, and then:
#
#   ./run.sh            starts the demo lab (tests/lab/demo.sh: Kamailio with a bot that
#                       answers calls with a tone, Prosody with a bot that answers
#                       chats), installs a development license for the full edition and
#                       opens ucdesk logged in as `demo`: call `bot`, chat with
#                       bot@localhost. Closing the window stops the lab.
#   ./run.sh --no-lab   opens ucdesk with your own profile: the login wizard the first
#                       time.
#   ./run.sh ARGS...    any other arguments go to `ucdesk` (e.g. `./run.sh daemon`,
#                       `./run.sh plugins`), without the lab.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ucdesk-target}"
# A development build: it trusts the repository's development vendor key, which the
# demo's license is signed with (a release build for users names the vendor's key in
# UCDESK_VENDOR_PUBKEY instead; license/build.rs refuses one that does neither).
export UCDESK_DEV_BUILD=1
demo=0
[ $# -eq 0 ] && demo=1
[ "${1:-}" = "--no-lab" ] && shift

if [ $demo -eq 1 ]; then
  tests/lab/debian-packages.sh app demo
else
  tests/lab/debian-packages.sh app
fi
# Everything but the test fixtures: plugins land beside the binary, where it finds them.
cargo build --release --workspace --exclude ucdesk-tests --exclude 'ucdesk-fixture-*'
bin="$CARGO_TARGET_DIR/release"
[ $demo -eq 1 ] || exec "$bin/ucdesk" "$@"

# The demo: its own profile, so it never touches yours.
state="${XDG_STATE_HOME:-$HOME/.local/state}/ucdesk-demo"
home="$state/home"
mkdir -p "$home"
tests/lab/demo.sh start "$state/lab" >/dev/null
trap 'tests/lab/demo.sh stop "$state/lab"' EXIT
tests/lab/demo.sh profile "$state/lab" "$home" "$bin"
echo "ucdesk demo: logged in as demo; call \`bot\`, chat with bot@localhost, or text +15555550123" >&2
# The demo's passwords are in the profile's encrypted file, not your keyring.
UCDESK_SECRET_STORE=file "$bin/ucdesk" --home "$home"
