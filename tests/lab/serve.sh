# Sourced by the lab scripts: the part every one of them shares.
#
#   serve PID WHAT LOG CHECK [ARGS...]
#
# Waits up to 10 s for `CHECK ARGS...` to succeed while PID lives, prints `ready`, then
# waits on PID; SIGTERM/SIGINT stop it. If PID dies or never gets ready, prints WHAT and
# LOG to stderr and fails. `listening udp|tcp PORT` is a CHECK for a bound loopback port.

listening() {
  ss "-l${1:0:1}n" | grep -q "127.0.0.1:$2 "
}

serve() {
  local pid=$1 what=$2 log=$3
  shift 3
  # shellcheck disable=SC2064 # the PID is fixed now
  trap "kill $pid 2>/dev/null; wait $pid 2>/dev/null; exit 0" TERM INT
  for _ in $(seq 1 200); do
    if "$@"; then
      echo ready
      wait "$pid"
      exit $?
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$what exited" >&2
      cat "$log" >&2 2>/dev/null
      exit 1
    fi
    sleep 0.05
  done
  echo "$what did not become ready within 10 s" >&2
  cat "$log" >&2 2>/dev/null
  kill "$pid"
  exit 1
}
