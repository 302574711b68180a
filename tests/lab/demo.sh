#!/usr/bin/env bash
# The demo lab for the first run (README: ./run.sh): real servers on loopback, and a
# profile logged in to them.
#
#   tests/lab/demo.sh start DIR   # start the servers and bots, print `ready`
#   tests/lab/demo.sh stop DIR    # stop them
#   tests/lab/demo.sh profile DIR HOME BINDIR
#                                 # log profile HOME in as `demo` with BINDIR's ucdesk:
#                                 # a development license for the full edition, the
#                                 # phone and chat accounts (passwords in the profile's
#                                 # encrypted file)
#
# Starts Kamailio (SIP 5070 UDP/TCP, 5071 TLS) with accounts demo/demopw and bot/botpw,
# a baresip bot `bot` that answers every call and plays a tone, Prosody (XMPP c2s 5322,
# uploads 5380) with the same accounts, a chat bot bot@localhost that answers every
# message, and the lab SMS gateway (component sms.localhost on 5347, control 5390)
# giving demo the number +15555550100, where +15555550123 texts back whatever it gets;
# the central phone book on slapd (ldaps 6636, ldap 3389; tests/lab/demo-phonebook/
# people.ldif) and Radicale (5232) with the shared phone book (demo-phonebook/*.vcf)
# and demo's personal address book. Logs and data live under DIR; the servers keep
# running until `stop`.
set -euo pipefail
lab=$(cd "$(dirname "$0")" && pwd)
usage="usage: demo.sh start|stop DIR | demo.sh profile DIR HOME BINDIR"
cmd=${1:?$usage}
dir=${2:?$usage}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

stop() {
  [ -f "$dir/pids" ] || return 0
  # Bots before servers (baresip unregisters on the way out), each as its whole
  # session (setsid), children included; whatever still runs after 3 s is killed.
  local pids
  pids=$(tac "$dir/pids")
  for pid in $pids; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for _ in $(seq 1 30); do
    local alive=0
    for pid in $pids; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  for pid in $pids; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  rm -f "$dir/pids"
}

# Starts `NAME SCRIPT` in its own session with its output in DIR/NAME.out, and waits
# until it prints `ready`.
start_one() {
  local name=$1
  shift
  mkdir -p "$dir/$name"
  setsid "$@" >"$dir/$name.out" 2>"$dir/$name.err" </dev/null &
  echo $! >>"$dir/pids"
  for _ in $(seq 1 300); do
    grep -q '^ready' "$dir/$name.out" 2>/dev/null && return 0
    if ! kill -0 "$!" 2>/dev/null; then
      echo "demo lab: $name did not start:" >&2
      cat "$dir/$name.err" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "demo lab: $name did not become ready in 30 s" >&2
  return 1
}

profile() {
  local home=${1:?$usage} bin=${2:?$usage}
  mkdir -p "$home"
  export UCDESK_SECRET_STORE=file
  ucdesk() { "$bin/ucdesk" --home "$home" "$@"; }
  "$bin/ucdesk-sdk" license issue --key "$lab/../../license/keys/dev-vendor.key" --licensee "ucdesk demo" \
    --edition supervisor --features sms,meetings --expires 2099-12-31 --out "$dir/license.json" >/dev/null
  ucdesk license install "$dir/license.json" >/dev/null
  while read -r key value; do
    ucdesk settings set "$key" "$value" >/dev/null
  done <<SETTINGS
softphone.server 127.0.0.1:5070
softphone.username demo
softphone.display_name Demo User
softphone.transport udp
softphone.tls_ca_file $dir/kamailio/ca.pem
chat.jid demo@localhost
chat.server 127.0.0.1:5322
chat.tls_ca_file $dir/prosody/ca.pem
sms.jid demo@localhost
sms.server 127.0.0.1:5322
sms.tls_ca_file $dir/prosody/ca.pem
contacts.ldap_url ldaps://127.0.0.1:6636
contacts.ldap_base ou=people,dc=lab,dc=test
contacts.ldap_bind_dn cn=phonebook,ou=system,dc=lab,dc=test
contacts.ldap_ca_file $dir/slapd/ca.pem
contacts.carddav_url http://127.0.0.1:5232/shared/phonebook/
contacts.personal_carddav_url http://127.0.0.1:5232/demo/contacts/
contacts.carddav_user demo
contacts.country US
SETTINGS
  printf demopw | ucdesk secret set softphone.password >/dev/null
  printf demopw | ucdesk secret set chat.password >/dev/null
  printf demopw | ucdesk secret set sms.password >/dev/null
  printf phonebookpw | ucdesk secret set contacts.ldap_password >/dev/null
  printf demopw | ucdesk secret set contacts.carddav_password >/dev/null
}

case "$cmd" in
  stop) stop ;;
  profile) profile "${3:-}" "${4:-}" ;;
  start)
    stop
    export SIP_USERS="demo:demopw bot:botpw" XMPP_USERS="demo:demopw bot:botpw"
    SIP_UDP_PORT=5070 SIP_TCP_PORT=5070 SIP_TLS_PORT=5071 start_one kamailio "$lab/kamailio.sh" "$dir/kamailio"
    BOT_USER=bot BOT_PASS=botpw REGISTRAR=127.0.0.1:5070 BOT_SIP_PORT=5080 BOT_CTRL_PORT=5081 \
      start_one baresip "$lab/baresip.sh" "$dir/baresip"
    XMPP_C2S_PORT=5322 XMPP_HTTP_PORT=5380 XMPP_COMPONENT_PORT=5347 SMS_SECRET=demo-sms-secret \
      start_one prosody "$lab/prosody.sh" "$dir/prosody"
    BOT_JID=bot@localhost BOT_PASS=botpw XMPP_SERVER=127.0.0.1:5322 CA_FILE="$dir/prosody/ca.pem" \
      BOT_BEFRIEND=demo@localhost \
      start_one chatbot "$lab/chatbot.py"
    SMS_SECRET=demo-sms-secret XMPP_COMPONENT_PORT=5347 SMS_CONTROL_PORT=5390 \
      SMS_USERS="demo@localhost=+15555550100:Demo" SMS_ECHO=+15555550123 \
      start_one sms-gateway "$lab/sms_gateway.py" "$dir/sms-gateway"
    LDAP_PORT=3389 LDAPS_PORT=6636 LDAP_LDIF="$lab/demo-phonebook/people.ldif" \
      start_one slapd "$lab/slapd.sh" "$dir/slapd"
    DAV_PORT=5232 DAV_USERS="admin:adminpw demo:demopw" DAV_SHARED_SEED="$lab/demo-phonebook" \
      start_one radicale "$lab/radicale.sh" "$dir/radicale"
    echo ready
    ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
