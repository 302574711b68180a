#!/usr/bin/env bash
# Starts the real ucdesk window under Xvfb and saves a PNG of it (docs, reviews).
#
#   tests/lab/screenshot.sh OUT.png              # the demo: lab + demo profile (as ./run.sh)
#   tests/lab/screenshot.sh OUT.png ARGS...      # `ucdesk ARGS...` (e.g. --home DIR)
#
# Env: UCDESK_BIN (default: the release build, else the debug build, in
# ${CARGO_TARGET_DIR:-~/.cache/ucdesk-target}), SHOT_DELAY (seconds after the window
# appears, default 4), SHOT_SIZE (default 1280x800). Needs Xvfb, xwininfo and
# ImageMagick (tests/lab/debian-packages.sh screenshot).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(realpath -m "${1:?usage: screenshot.sh OUT.png [ucdesk args...]}")
shift
target="${CARGO_TARGET_DIR:-$HOME/.cache/ucdesk-target}"
bin=${UCDESK_BIN:-}
if [ -z "$bin" ]; then
  for b in "$target/release" "$target/debug"; do
    [ -x "$b/ucdesk" ] && bin=$b && break
  done
fi
[ -n "$bin" ] || { echo "no ucdesk build in $target: run ./run.sh or cargo build first" >&2; exit 1; }
tests/lab/debian-packages.sh screenshot

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/lab/pids" ] && tests/lab/demo.sh stop "$work/lab"
  rm -rf "$work"
}
trap cleanup EXIT

n=99
while [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ]; do n=$((n + 1)); done
Xvfb ":$n" -screen 0 "${SHOT_SIZE:-1280x800}x24" -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
export DISPLAY=":$n"

args=("$@")
if [ ${#args[@]} -eq 0 ]; then
  tests/lab/demo.sh start "$work/lab" >/dev/null
  tests/lab/demo.sh profile "$work/lab" "$work/home" "$bin"
  export UCDESK_SECRET_STORE=file
  args=(--home "$work/home")
fi
# Software GL (Mesa llvmpipe): Xvfb has no GPU.
LIBGL_ALWAYS_SOFTWARE=1 "$bin/ucdesk" "${args[@]}" >"$work/ucdesk.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 200); do
  xwininfo -root -tree 2>/dev/null | grep -q '"ucdesk' && break
  kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/ucdesk.log" >&2; exit 1; }
  sleep 0.1
done
sleep "${SHOT_DELAY:-4}"
# The window itself when it can be found (no desktop around it), else the screen.
wid=$(xwininfo -root -tree | awk '/"ucdesk"/ {print $1; exit}')
import -display ":$n" -window "${wid:-root}" "$out"
echo "$out"
