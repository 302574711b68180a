#!/usr/bin/env bash
# ejabberd (XMPP) for domains `localhost` and `lab.test` on 127.0.0.1 in a throwaway
# dir: c2s with STARTTLS required, MAM, carbons, stream management, MUC with MAM (rooms
# persistent, never locked), PEP, HTTP file upload; no s2s, no traffic shaping.
#
#   XMPP_C2S_PORT=5322 XMPP_HTTP_PORT=5380 tests/lab/ejabberd.sh DIR
#
# Env: XMPP_USERS ("user:password ..."; default alice bob carol dave with <user>pw),
# made on both domains; EJABBERD_NODE (Erlang node name, default ucdesk-<c2s port>@localhost;
# keep it for every start of a DIR, Mnesia is bound to it); EJABBERD_JOIN and
# EJABBERD_DIST_PORT, see below.
# Runs the Erlang VM directly (ejabberdctl switches user and needs epmd), cookie `ucdesklab`.
# No epmd: DIR/ucdesk_lab.erl is the VM's -epmd_module. Each node listens for Erlang
# distribution on 127.0.0.1:EJABBERD_DIST_PORT (default: a free port) and records the
# port in EJABBERD_EPMD_DIR/<name> (default ${TMPDIR:-/tmp}/ucdesk-lab-epmd), where the
# other nodes look it up; names are looked up without their host part.
# Cluster (one Mnesia: accounts, rosters, archives, rooms, PEP on both nodes):
#   XMPP_C2S_PORT=5322 XMPP_HTTP_PORT=5380 ejabberd.sh A
#   EJABBERD_JOIN=ucdesk-5322@localhost XMPP_C2S_PORT=5422 XMPP_HTTP_PORT=5480 ejabberd.sh B
# B boots, runs ejabberd's join_cluster (ejabberd on B restarts with A's database; about
# a second more than a plain start), then prints `ready`. Restarting B with the same env
# keeps its membership (no second join). B keeps serving if A dies. As with any Mnesia
# cluster, a node waits at boot for the nodes that outlived it: start first the node that
# stopped last, or, when both stopped together, both at once. Each DIR has its own CA unless
# B is started with EJABBERD_CERT_FROM=A's DIR (what the tests do: one certificate for the
# cluster's domain). Uploaded files stay on the node that took them (DIR/upload).
# To call into a node: erl -sname ctl@localhost -hidden -setcookie ucdesklab -noinput
#   -start_epmd false -epmd_module ucdesk_lab -pa DIR -env LAB_EPMD_DIR <the dir above>
#   -eval 'io:format("~p~n", [rpc:call(NODE, ejabberd_cluster, get_nodes, [])]), halt().'
# Writes DIR/ejabberd.yml, DIR/db (Mnesia), DIR/ejabberd.log (and error.log, stdout.log),
# DIR/upload and DIR/ca.pem (the throwaway CA a client must trust; the server certificate
# is for localhost, conference.localhost, upload.localhost, lab.test and 127.0.0.1).
# Accounts exist before `ready`. Running this script again on the same DIR keeps the data
# (a restart); the certificate is made once. Prints `ready` once c2s listens, then waits;
# SIGTERM stops ejabberd.
set -euo pipefail
# shellcheck source=serve.sh
source "$(dirname "$0")/serve.sh"
# shellcheck source=cert.sh
source "$(dirname "$0")/cert.sh"
dir=$(cd "${1:?usage: ejabberd.sh DIR}" && pwd)
: "${XMPP_C2S_PORT:?}" "${XMPP_HTTP_PORT:?}"
users=${XMPP_USERS:-"alice:alicepw bob:bobpw carol:carolpw dave:davepw"}
node=${EJABBERD_NODE:-ucdesk-$XMPP_C2S_PORT@localhost}
epmd=${EJABBERD_EPMD_DIR:-${TMPDIR:-/tmp}/ucdesk-lab-epmd}
mkdir -p "$dir/db" "$dir/upload" "$epmd"

# EJABBERD_CERT_FROM=DIR: take that node's certificate (and CA): a cluster serves one
# domain, so its nodes present one certificate.
if [ -n "${EJABBERD_CERT_FROM:-}" ] && [ ! -f "$dir/cert.pem" ]; then
  cp "$EJABBERD_CERT_FROM"/cert.pem "$EJABBERD_CERT_FROM"/key.pem "$EJABBERD_CERT_FROM"/ca.pem "$dir/"
fi
if [ ! -f "$dir/cert.pem" ]; then
  lab_cert "$dir" localhost "DNS:localhost,DNS:conference.localhost,DNS:upload.localhost,DNS:lab.test,IP:127.0.0.1"
fi

cat >"$dir/ejabberd.yml" <<CFG
# Written by tests/lab/ejabberd.sh: a throwaway lab server.
hosts: [localhost, lab.test]
loglevel: info
log_rotate_count: 0
certfiles: ["$dir/cert.pem", "$dir/key.pem"]
ca_file: "$dir/ca.pem"
auth_method: [mnesia]
auth_password_format: plain
disable_sasl_mechanisms: [digest-md5, x-oauth2]
s2s_access: s2s
listen:
  - {port: $XMPP_C2S_PORT, ip: 127.0.0.1, module: ejabberd_c2s, starttls_required: true,
     shaper: none, max_fsm_queue: 1000000, max_stanza_size: infinity, backlog: 1024}
  - {port: $XMPP_HTTP_PORT, ip: 127.0.0.1, module: ejabberd_http,
     backlog: 1024, request_handlers: {/upload: mod_http_upload}}
acl:
  local: {user_regexp: ""}
access_rules:
  local: {allow: local}
  s2s: {deny: all}
shaper_rules:
  max_user_sessions: 100000
  max_user_offline_messages: 1000000
modules:
  mod_roster: {versioning: true}
  mod_disco: {}
  mod_caps: {}
  mod_carboncopy: {}
  mod_mam: {default: always, db_type: mnesia, assume_mam_usage: true}
  mod_pubsub: {plugins: [flat, pep], access_createnode: local, max_items_node: 100000}
  mod_private: {}
  mod_vcard: {search: false}
  mod_vcard_xupdate: {}
  mod_stream_mgmt: {resume_timeout: 600, max_resume_timeout: 600,
                    max_ack_queue: infinity, resend_on_timeout: if_offline}
  mod_ping: {}
  mod_offline: {access_max_user_messages: max_user_offline_messages}
  mod_blocking: {}
  mod_privacy: {}
  mod_last: {}
  mod_time: {}
  mod_version: {}
# Components only for localhost: one upload service (its put_url names it), one MUC.
append_host_config:
  localhost:
    modules:
      mod_muc:
        hosts: [conference.localhost]
        access: all
        access_create: local
        access_persistent: local
        access_mam: all
        history_size: 50
        max_user_conferences: 100000
        max_users: 10000
        max_users_presence: 10000
        default_room_options: {mam: true, persistent: true}
      mod_muc_admin: {}
      mod_http_upload:
        hosts: [upload.localhost]
        put_url: "http://127.0.0.1:$XMPP_HTTP_PORT/upload"
        get_url: "http://127.0.0.1:$XMPP_HTTP_PORT/upload"
        docroot: "$dir/upload"
        max_size: 67108864
        access: local
CFG

# ejabberd keeps archives, offline messages etc. in dets (disc_only_copies), where a write
# to a user's bag costs its size: thousands of messages take minutes. Keep them in RAM
# (disc_copies). ejabberd.schema says so, but 23.01 applies it only to existing tables: boot
# converts the new ones.
ram="archive_msg archive_prefs caps_features last_activity oauth_token offline_msg passwd
  privacy private_storage pubsub_item roster roster_version vcard"
for t in $ram; do printf '%s: {storage_type: disc_copies}\n' "$t"; done >"$dir/db/ejabberd.schema"

# The epmd stand-in (see erl_epmd) and the boot: start ejabberd, join, make accounts.
cat >"$dir/ucdesk_lab.erl" <<'ERL'
-module(ucdesk_lab).
-export([start_link/0, register_node/2, register_node/3, listen_port_please/2,
         port_please/2, port_please/3, address_please/3, names/1, boot/0]).
env(K) -> os:getenv(K, "").
path(Name) -> filename:join(env("LAB_EPMD_DIR"), lists:concat([Name])).
start_link() -> ignore.
register_node(Name, Port) -> register_node(Name, Port, inet).
register_node(Name, Port, _Family) ->
    ok = prim_file:write_file(path(Name), integer_to_list(Port)),
    {ok, -1}.
listen_port_please(_Name, _Host) -> {ok, list_to_integer("0" ++ env("EJABBERD_DIST_PORT"))}.
port_please(Name, Host) -> port_please(Name, Host, infinity).
port_please(Name, _Host, _Timeout) ->
    case prim_file:read_file(path(Name)) of
        {ok, Port} -> {port, binary_to_integer(Port), 6};
        _ -> noport
    end.
address_please(_Name, _Host, inet) -> {ok, {127, 0, 0, 1}};
address_please(_Name, Host, Family) -> inet:getaddr(Host, Family).
names(_Host) -> {error, address}.
boot() ->
    try
        {ok, _} = ejabberd:start(),
        case env("EJABBERD_JOIN") of
            "" -> ok;
            J -> Peer = list_to_atom(J),
                 lists:member(Peer, mnesia:system_info(db_nodes))
                     orelse ok == ejabberd_cluster:join(Peer)
                     orelse error({join_failed, Peer})
        end,
        [{atomic, ok} = mnesia:change_table_copy_type(T, node(), disc_copies)
         || T <- [list_to_atom(S) || S <- string:lexemes(env("LAB_RAM_TABLES"), " \n")],
            lists:member(node(), mnesia:table_info(T, disc_only_copies))],
        [case ejabberd_auth:try_register(list_to_binary(U), H, list_to_binary(P)) of
             ok -> ok;
             {error, exists} -> ok
         end || UP <- string:lexemes(env("LAB_USERS"), " "), [U, P] <- [string:split(UP, ":")],
                H <- [<<"localhost">>, <<"lab.test">>]],
        ok = file:write_file(env("LAB_BOOTED"), <<>>)
    catch C:R:S ->
        io:format(standard_error, "ejabberd lab boot failed: ~p:~p~n~p~n", [C, R, S]),
        erlang:halt(1)
    end.
ERL
erlc -o "$dir" "$dir/ucdesk_lab.erl"

rm -f "$dir/booted"
cd "$dir"
EJABBERD_CONFIG_PATH="$dir/ejabberd.yml" EJABBERD_LOG_PATH="$dir/ejabberd.log" \
  ERL_LIBS=/usr/lib/x86_64-linux-gnu ERL_CRASH_DUMP_BYTES=0 ERL_MAX_PORTS=32000 \
  ERL_MAX_ETS_TABLES=1400 LAB_USERS="$users" LAB_BOOTED="$dir/booted" LAB_EPMD_DIR="$epmd" LAB_RAM_TABLES="$ram" \
  erl -sname "$node" -setcookie ucdesklab -noinput -start_epmd false \
  -epmd_module ucdesk_lab -kernel inet_dist_use_interface '{127,0,0,1}' -pa "$dir" +P 250000 \
  -mnesia dir "\"$dir/db\"" -s ucdesk_lab boot >"$dir/stdout.log" 2>&1 &
pid=$!
# Booting (and joining a cluster) takes longer than serve's 10 s on a loaded machine, and
# c2s listens before the accounts exist: wait for the boot to finish first.
# shellcheck disable=SC2064 # the PID is fixed now
trap "kill $pid 2>/dev/null; wait $pid 2>/dev/null; exit 0" TERM INT
for _ in $(seq 1 1200); do
  [ -f "$dir/booted" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
if [ ! -f "$dir/booted" ] && kill -0 "$pid" 2>/dev/null; then
  echo "ejabberd did not boot within 60 s" >&2
  cat "$dir/stdout.log" >&2
  kill "$pid"
  exit 1
fi
serve "$pid" ejabberd "$dir/stdout.log" listening tcp "$XMPP_C2S_PORT"
