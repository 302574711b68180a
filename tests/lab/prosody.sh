#!/usr/bin/env bash
# Prosody (XMPP) for domains `localhost` and `lab.test` on 127.0.0.1 in a throwaway
# dir: c2s with STARTTLS, MAM, carbons, stream management, MUC with MAM, HTTP file
# upload.
#
#   XMPP_C2S_PORT=5322 XMPP_HTTP_PORT=5380 tests/lab/prosody.sh DIR
#
# Env: XMPP_USERS ("user:password ..."; default alice bob carol dave with <user>pw);
# XMPP_COMPONENT_PORT and SMS_SECRET (optional): an XEP-0114 component port for the
# external component `sms.localhost` (tests/lab/sms_gateway.py), listed in the
# server's disco#items whether or not it is connected.
# Writes DIR/prosody.cfg.lua, DIR/data, and DIR/ca.pem (the throwaway CA a client must
# trust; the server certificate is for localhost, conference.localhost, upload.localhost,
# sms.localhost, lab.test and 127.0.0.1). Accounts are created before start. Running this script again on the
# same DIR keeps the data (a restart); the certificate is made once. Prints `ready` once
# c2s listens, then waits; SIGTERM stops Prosody.
set -euo pipefail
# shellcheck source=serve.sh
source "$(dirname "$0")/serve.sh"
# shellcheck source=cert.sh
source "$(dirname "$0")/cert.sh"
dir=$(cd "${1:?usage: prosody.sh DIR}" && pwd)
: "${XMPP_C2S_PORT:?}" "${XMPP_HTTP_PORT:?}"
users=${XMPP_USERS:-"alice:alicepw bob:bobpw carol:carolpw dave:davepw"}
mkdir -p "$dir/data"

if [ ! -f "$dir/cert.pem" ]; then
  lab_cert "$dir" localhost "DNS:localhost,DNS:conference.localhost,DNS:upload.localhost,DNS:sms.localhost,DNS:lab.test,IP:127.0.0.1"
  chmod 644 "$dir/key.pem"
fi

root=""
component=""
if [ -n "${XMPP_COMPONENT_PORT:-}" ]; then
  component="component_ports = { $XMPP_COMPONENT_PORT }
component_interfaces = { \"127.0.0.1\" }"
fi
[ "$(id -u)" -eq 0 ] && root="run_as_root = true"
cat >"$dir/prosody.cfg.lua" <<CFG
-- Written by tests/lab/prosody.sh: a throwaway lab server.
$root
pidfile = "$dir/prosody.pid"
data_path = "$dir/data"
plugin_paths = {}
log = { debug = "$dir/prosody.log"; error = "*stderr" }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { $XMPP_C2S_PORT }
c2s_direct_tls_ports = {}
s2s_ports = {}
http_ports = { $XMPP_HTTP_PORT }
https_ports = {}
http_interfaces = { "127.0.0.1" }
http_external_url = "http://127.0.0.1:$XMPP_HTTP_PORT/"
http_default_host = "upload.localhost"
admins = {}
modules_enabled = {
  "roster"; "saslauth"; "tls"; "disco"; "presence"; "message"; "iq"; "carbons"; "mam";
  "smacks"; "pep"; "private"; "bookmarks"; "vcard4"; "blocklist"; "ping"; "offline";
  "register"; "posix"; "time"; "version"; "uptime"; "lastactivity";
}
modules_disabled = { "s2s" }
c2s_require_encryption = true
allow_registration = false
authentication = "internal_hashed"
storage = "internal"
default_archive_policy = true
archive_expires_after = "never"
max_archive_query_results = 250
smacks_hibernation_time = 600
certificates = "$dir"
$component
ssl = { certificate = "$dir/cert.pem"; key = "$dir/key.pem" }

VirtualHost "localhost"
  ssl = { certificate = "$dir/cert.pem"; key = "$dir/key.pem" }

-- A second domain for name-resolution tests (SRV through the lab DNS): resolvers
-- answer "localhost" themselves (RFC 6761), so SRV needs a name of its own.
VirtualHost "lab.test"
  ssl = { certificate = "$dir/cert.pem"; key = "$dir/key.pem" }

Component "conference.localhost" "muc"
  modules_enabled = { "muc_mam" }
  muc_room_default_persistent = true
  muc_room_locking = false
  muc_room_default_history_length = 50

Component "upload.localhost" "http_file_share"
  http_file_share_size_limit = 64 * 1024 * 1024
  http_file_share_expires_after = -1
CFG
if [ -n "${XMPP_COMPONENT_PORT:-}" ]; then
  cat >>"$dir/prosody.cfg.lua" <<CFG

-- The lab SMS gateway connects here (XEP-0114); it stands in for the carrier.
Component "sms.localhost"
  component_secret = "${SMS_SECRET:?SMS_SECRET with XMPP_COMPONENT_PORT}"
CFG
fi

for u in $users; do
  for host in localhost lab.test; do
    prosodyctl --config "$dir/prosody.cfg.lua" register "${u%%:*}" "$host" "${u#*:}" >/dev/null 2>&1
  done
done

prosody --config "$dir/prosody.cfg.lua" -F >"$dir/stdout.log" 2>&1 &
serve $! prosody "$dir/stdout.log" listening tcp "$XMPP_C2S_PORT"
