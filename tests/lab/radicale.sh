#!/usr/bin/env bash
# Radicale (CalDAV/CardDAV) on 127.0.0.1 in a throwaway dir, with the address books a
# company's phone system would publish:
#   /shared/phonebook/   the shared phone book: every user reads it, only `admin` writes
#   /<user>/contacts/    each user's personal address book (read-write, theirs alone)
#   /<user>/calendar/    each user's calendar
#
#   DAV_PORT=5232 tests/lab/radicale.sh DIR
#
# Debian's /usr/bin/radicale (its own python3, not whichever is first on PATH).
# Env: DAV_USERS ("user:password ..."; default admin:adminpw alice:alicepw bob:bobpw);
# DAV_SHARED_SEED (optional): a folder of .vcf files the shared phone book starts with
# (Radicale's storage is one file per card, so they are copied in as they are).
# Writes DIR/config, DIR/users (htpasswd, plain: a throwaway lab), DIR/rights and
# DIR/collections. Running it again on the same DIR keeps the data (a restart). Prints
# `ready` once HTTP listens, then waits; SIGTERM stops Radicale.
set -euo pipefail
# shellcheck source=serve.sh
source "$(dirname "$0")/serve.sh"
dir=$(cd "${1:?usage: radicale.sh DIR}" && pwd)
: "${DAV_PORT:?}"
users=${DAV_USERS:-"admin:adminpw alice:alicepw bob:bobpw"}
[ -x /usr/bin/radicale ] \
  || { echo "Radicale is not installed (tests/lab/debian-packages.sh test)" >&2; exit 1; }

root="$dir/collections/collection-root"
book() { # book PATH TAG NAME
  mkdir -p "$root/$1"
  [ -f "$root/$1/.Radicale.props" ] \
    || printf '{"tag": "%s", "D:displayname": "%s"}' "$2" "$3" >"$root/$1/.Radicale.props"
}
: >"$dir/users"
for entry in $users; do
  echo "$entry" >>"$dir/users"
  user=${entry%%:*}
  book "$user/contacts" VADDRESSBOOK "Personal"
  book "$user/calendar" VCALENDAR "Calendar"
done
mkdir -p "$root/shared"
book "shared/phonebook" VADDRESSBOOK "Phone book"
if [ -n "${DAV_SHARED_SEED:-}" ]; then
  for card in "$DAV_SHARED_SEED"/*.vcf; do
    [ -e "$root/shared/phonebook/$(basename "$card")" ] || cp "$card" "$root/shared/phonebook/"
  done
fi

# First match wins: admin manages the shared books; everyone reads them and owns their
# own collections; nothing else.
cat >"$dir/rights" <<'RIGHTS'
[admin-shared]
user: admin
collection: shared(/.*)?
permissions: RWrw

[root]
user: .+
collection:
permissions: R

[shared]
user: .+
collection: shared
permissions: R

[shared-books]
user: .+
collection: shared/[^/]+
permissions: r

[principal]
user: .+
collection: {user}
permissions: RW

[own]
user: .+
collection: {user}/[^/]+
permissions: rw
RIGHTS

cat >"$dir/config" <<CFG
[server]
hosts = 127.0.0.1:$DAV_PORT
[auth]
type = htpasswd
htpasswd_filename = $dir/users
htpasswd_encryption = plain
delay = 0
[rights]
type = from_file
file = $dir/rights
[storage]
filesystem_folder = $dir/collections
[logging]
level = warning
mask_passwords = True
[web]
type = none
CFG

/usr/bin/radicale --config "$dir/config" >"$dir/radicale.log" 2>&1 &
serve $! radicale "$dir/radicale.log" listening tcp "$DAV_PORT"
