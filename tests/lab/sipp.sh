#!/usr/bin/env bash
# A SIPp server on 127.0.0.1 for the odd cases a real phone cannot play: a built-in
# scenario (e.g. `uas`) or a scenario file from tests/lab/sipp. Every message it sends
# and receives goes to DIR/messages.log.
#
#   SIPP_PORT=6000 SIPP_SCENARIO=uas|tests/lab/sipp/NAME.xml [SIPP_ARGS="-key k v"] \
#   tests/lab/sipp.sh DIR
#
# Prints `ready` once the port is bound, then waits; SIGTERM stops SIPp.
set -euo pipefail
# shellcheck source=serve.sh
source "$(dirname "$0")/serve.sh"
dir=$(cd "${1:?usage: sipp.sh DIR}" && pwd)
: "${SIPP_PORT:?}" "${SIPP_SCENARIO:?}"
case "$SIPP_SCENARIO" in
  *.xml) scenario=(-sf "$(cd "$(dirname "$SIPP_SCENARIO")" && pwd)/$(basename "$SIPP_SCENARIO")") ;;
  *) scenario=(-sn "$SIPP_SCENARIO") ;;
esac
cd "$dir"
# -nostdin and a redirected screen: SIPp's curses display needs no terminal.
# shellcheck disable=SC2086 # SIPP_ARGS is a list of words
sipp "${scenario[@]}" ${SIPP_ARGS:-} -i 127.0.0.1 -p "$SIPP_PORT" -nostdin -trace_msg \
  -message_file "$dir/messages.log" -trace_err -error_file "$dir/errors.log" \
  >"$dir/sipp.out" 2>&1 </dev/null &
pid=$!
serve $pid sipp "$dir/sipp.out" listening udp "$SIPP_PORT"
