#!/usr/bin/env bash
# A DNS server (dnsmasq) on 127.0.0.1 that answers for a lab domain only: SRV records
# for SIP (RFC 3263) and the A records they point at. Nothing is forwarded upstream.
#
#   DNS_PORT=5353 DNS_SRV="_sip._udp.lab.test=sip1.lab.test:5070:10:10 ..." \
#   DNS_HOSTS="sip1.lab.test=127.0.0.1 ..." tests/lab/dns.sh DIR
#
# DNS_SRV entries are name=target:port:priority:weight. Prints `ready` once the port
# answers, then waits; SIGTERM stops dnsmasq.
set -euo pipefail
# shellcheck source=serve.sh
source "$(dirname "$0")/serve.sh"
dir=$(cd "${1:?usage: dns.sh DIR}" && pwd)
: "${DNS_PORT:?}"
bin=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
[ -x "$bin" ] || { echo "dnsmasq is not installed (apt-get install dnsmasq-base)" >&2; exit 1; }

args=(--keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --no-poll
  --listen-address=127.0.0.1 --bind-interfaces --port="$DNS_PORT"
  --pid-file="$dir/dnsmasq.pid" --log-facility="$dir/dnsmasq.log" --log-queries)
# dnsmasq drops privileges to "nobody" by default; stay as whoever runs the lab.
args+=(--user="$(id -un)")
for h in ${DNS_HOSTS:-}; do args+=(--host-record="${h%%=*},${h#*=}"); done
for s in ${DNS_SRV:-}; do
  IFS=: read -r target port prio weight <<<"${s#*=}"
  args+=(--srv-host="${s%%=*},$target,$port,$prio,$weight")
done

"$bin" "${args[@]}" &
pid=$!
serve $pid dnsmasq "$dir/dnsmasq.log" listening udp "$DNS_PORT"
