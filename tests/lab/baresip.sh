#!/usr/bin/env bash
# A baresip bot: registers to the lab Kamailio, answers (auto or by ctrl_tcp command),
# plays an 8 kHz WAV into calls and can be driven over ctrl_tcp.
#
#   BOT_USER=bob BOT_PASS=bobpw REGISTRAR=127.0.0.1:5070 BOT_SIP_PORT=5080 \
#   BOT_CTRL_PORT=5081 [BOT_RTP_PORTS=20000-20099] [BOT_ANSWER=auto|manual] \
#   [BOT_AUDIO=tone.wav] [BOT_TONE_HZ=440] [BOT_AUDIO_RATE=8000] [BOT_AUDIO_CHANNELS=1] [BOT_CODECS=PCMU,PCMA] [BOT_RECORD=1] \
#   tests/lab/baresip.sh DIR
#
# BOT_CODECS: what the bot offers and accepts, baresip's way: PCMU, PCMA, G722/16000/1,
# opus/48000/2 (a name alone means 8000 Hz mono). BOT_RECORD=1:
# the sndfile module writes what the bot sends and hears to DIR/dump-*-enc.wav and
# DIR/dump-*-dec.wav. BOT_MEDIAENC=srtp-mand: calls must be SRTP (SDES). BOT_MAX_CALLS:
# concurrent calls the bot takes (default 16).
#
# Prints `ready` once the bot is registered, then waits; SIGTERM stops it. The bot's
# log is DIR/baresip.log (calls, received DTMF events, rtcpsummary at hang-up).
set -euo pipefail
# shellcheck source=serve.sh
source "$(dirname "$0")/serve.sh"
dir=$(cd "${1:?usage: baresip.sh DIR}" && pwd)
: "${BOT_USER:?}" "${BOT_PASS:?}" "${REGISTRAR:?}" "${BOT_SIP_PORT:?}" "${BOT_CTRL_PORT:?}"
rtp=${BOT_RTP_PORTS:-$((BOT_SIP_PORT + 1000))-$((BOT_SIP_PORT + 1099))}
answer=${BOT_ANSWER:-auto}
audio=${BOT_AUDIO:-$dir/tone.wav}
if [ ! -f "$audio" ]; then
  # baresip's ausine is 48 kHz only; a generated 8 kHz WAV works with aufile. It lasts
  # two minutes: baresip hangs a call up when its aufile source ends.
  # baresip 1.0's aufile does not convert: the file's rate and channels must be the
  # codec's (BOT_AUDIO_RATE=16000 for G.722; 48000 and BOT_AUDIO_CHANNELS=2 for Opus).
  python3 - "$audio" "${BOT_AUDIO_RATE:-8000}" "${BOT_AUDIO_CHANNELS:-1}" "${BOT_TONE_HZ:-440}" <<'PY'
import math, struct, sys, wave
rate, channels, hz = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
second = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / rate))) * channels for i in range(rate))
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(channels); w.setsampwidth(2); w.setframerate(rate)
    w.writeframes(second * 120)
PY
fi
cat >"$dir/config" <<CFG
poll_method epoll
sip_listen 127.0.0.1:$BOT_SIP_PORT
call_local_timeout 120
call_max_calls ${BOT_MAX_CALLS:-16}
audio_source aufile,$audio
# aubridge's player is paced by its own timer: nothing spins (unlike alsa,null).
audio_player aubridge,bot
audio_alert aubridge,bot
audio_srate 8000
audio_channels 1
rtp_ports $rtp
module_path /usr/lib/baresip/modules
module stdio.so
module g711.so
module g722.so
module opus.so
module srtp.so
module aufile.so
module aubridge.so
module rtcpsummary.so
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:$BOT_CTRL_PORT
CFG
if [ "${BOT_RECORD:-}" = 1 ]; then
  printf 'module sndfile.so\nsnd_path %s\n' "$dir" >>"$dir/config"
fi
# BOT_NAME: the display name in the bot's From ("Carol & Co" <sip:carol@...>).
echo "${BOT_NAME:+\"$BOT_NAME\" }<sip:$BOT_USER@$REGISTRAR>;auth_pass=$BOT_PASS;answermode=$answer;regint=300;audio_codecs=${BOT_CODECS:-PCMU,PCMA}${BOT_MEDIAENC:+;mediaenc=$BOT_MEDIAENC}" >"$dir/accounts"
: >"$dir/contacts"
# From inside DIR: if a bot ever dumps core, the core stays in the throwaway dir.
cd "$dir"
baresip -f "$dir" >"$dir/baresip.log" 2>&1 </dev/null &
pid=$!
serve $pid baresip "$dir/baresip.log" grep -q "200 OK" "$dir/baresip.log"
