#!/usr/bin/env bash
# A linphonec 5.1 peer (Debian's linphone-cli, Belledonne's SIP and media stack): the
# second independent softphone the lab calls, beside baresip. Registers to the lab
# Kamailio, answers by itself, plays a tone WAV into calls and records what it hears.
#
#   LP_USER=bob LP_PASS=bobpw REGISTRAR=127.0.0.1:5070 LP_SIP_PORT=5090 \
#   [LP_RTP_PORT=7090] [LP_CODECS="opus PCMU"] [LP_TONE_HZ=440] tests/lab/linphone.sh DIR
#
# LP_CODECS: the codecs left enabled, by linphonec's names (`codec list`: opus, PCMU,
# PCMA, G722, speex...), in linphone's own order; the default is linphone's set.
#
# linphonec reads commands on stdin; here stdin is the FIFO DIR/cmd, so a test drives it
# by writing lines there (`call sip:alice@127.0.0.1`, `pause`, `resume`, `terminate`,
# a line of digits sends them as RFC 4733 events, `record FILE` names the next call's
# recording). Its answers and events ("Receiving tone 5 from ...", "Call 1 with ...
# connected.") go to DIR/out.txt; its SIP/media log to DIR/linphone.log.
#
# File sound mode: the peer plays DIR/tone.wav (LP_TONE_HZ, 8 kHz mono, two minutes)
# to every call and records each call to DIR/heard.wav unless told otherwise.
#
# Traps (see LAB-NOTES): linphonec opens no SIP port until ~/.local/share/linphone exists
# (HOME is DIR/home here); it registers a GRUU, so the Contact it puts in its dialogs is
# `sip:bob@127.0.0.1;gr=urn:uuid:...` without a port, which the proxy resolves through its
# location table (kamailio.sh does). Prints `ready` once registered; SIGTERM stops it.
set -euo pipefail
# shellcheck source=serve.sh
source "$(dirname "$0")/serve.sh"
dir=$(cd "${1:?usage: linphone.sh DIR}" && pwd)
: "${LP_USER:?}" "${LP_PASS:?}" "${REGISTRAR:?}" "${LP_SIP_PORT:?}"
rtp=${LP_RTP_PORT:-$((LP_SIP_PORT + 1000))}
mkdir -p "$dir/home/.local/share/linphone"
python3 - "$dir/tone.wav" "${LP_TONE_HZ:-440}" <<'PY'
import math, struct, sys, wave
hz = float(sys.argv[2])
second = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / 8000))) for i in range(8000))
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
    w.writeframes(second * 120)
PY
cat >"$dir/linphonerc" <<CFG
[sip]
sip_port=$LP_SIP_PORT
sip_tcp_port=-1
sip_tls_port=-1
# Loopback only: the lab never listens on the machine's own addresses.
bind_address=127.0.0.1
default_proxy=0
# RFC 4733 events in the RTP stream (not SIP INFO), as a desk phone does.
use_rfc2833=1
use_info=0
[rtp]
audio_rtp_port=$rtp
audio_jitt_comp=60
[sound]
echocancellation=0
[proxy_0]
reg_proxy=<sip:$REGISTRAR>
reg_identity=sip:$LP_USER@${REGISTRAR%%:*}
reg_expires=300
reg_sendregister=1
[auth_info_0]
username=$LP_USER
passwd=$LP_PASS
[video]
capture=0
display=0
CFG
rm -f "$dir/cmd"
mkfifo "$dir/cmd"
cd "$dir"
# The FIFO is held open for writing by this shell (fd 3), so linphonec never sees EOF
# between a test's writes.
exec 3<>"$dir/cmd"
HOME="$dir/home" linphonec -c "$dir/linphonerc" -a -d 5 -l "$dir/linphone.log" <"$dir/cmd" >"$dir/out.txt" 2>&1 &
pid=$!
say() { printf '%s\n' "$*" >&3; }
say "soundcard use files"
say "play $dir/tone.wav"
say "record $dir/heard.wav"
if [ -n "${LP_CODECS:-}" ]; then
  say "codec list"
  for _ in $(seq 1 100); do grep -q '^ *0: ' "$dir/out.txt" && break; sleep 0.05; done
  sleep 0.2
  # Lines like " 3: PCMU (8000) enabled": keep the named ones, disable the rest.
  while read -r index name _; do
    index=${index%:}
    if [[ " $LP_CODECS " == *" $name "* ]]; then say "codec enable $index"; else say "codec disable $index"; fi
  done < <(grep -E '^ *[0-9]+: ' "$dir/out.txt")
fi
serve $pid linphonec "$dir/linphone.log" grep -q "to \\[LinphoneRegistrationOk\\]" "$dir/linphone.log"
