#!/usr/bin/env bash
# A PulseAudio sound server with two null sinks (real-time paced, no hardware) in a
# throwaway dir: a sound card for tests of the real device path through cpal/ALSA.
#
#   tests/lab/pulseaudio.sh DIR
#
# Sinks `vsink` (default) and `vsink2`; the default source is `vsink.monitor`, so what
# is played to vsink is what the microphone hears. Clients set
# PULSE_SERVER=unix:DIR/pulse.sock and use the ALSA device `pulse` (libasound2-plugins).
# `norewinds=1`: a null sink otherwise renders in 2 s blocks when no client asks for
# low latency, and a capture stream on its monitor then gets its first samples only when
# the current block ends (0-2 s after it starts; a real microphone starts in ~10 ms).
# With it the blocks are 50 ms at most.
# Prints `ready` once the socket answers, then waits; SIGTERM stops the server.
set -euo pipefail
# shellcheck source=serve.sh
source "$(dirname "$0")/serve.sh"
dir=$(cd "${1:?usage: pulseaudio.sh DIR}" && pwd)
command -v pulseaudio >/dev/null || { echo "pulseaudio is not installed" >&2; exit 1; }
cat >"$dir/pa.pa" <<PA
load-module module-null-sink sink_name=vsink rate=48000 norewinds=1
load-module module-null-sink sink_name=vsink2 rate=48000 norewinds=1
load-module module-native-protocol-unix auth-anonymous=1 socket=$dir/pulse.sock
set-default-sink vsink
set-default-source vsink.monitor
PA
# Its state (cookie, runtime files) stays in DIR, not in the user's home.
export HOME="$dir" XDG_RUNTIME_DIR="$dir" XDG_CONFIG_HOME="$dir"
pulseaudio -n -F "$dir/pa.pa" --exit-idle-time=-1 --daemonize=no --system=false \
  --log-target=file:"$dir/pulseaudio.log" >/dev/null 2>&1 &
pid=$!
server_answers() {
  [ -S "$dir/pulse.sock" ] && PULSE_SERVER="unix:$dir/pulse.sock" pactl info >/dev/null 2>&1
}
serve $pid pulseaudio "$dir/pulseaudio.log" server_answers
