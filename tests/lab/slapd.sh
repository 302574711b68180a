#!/usr/bin/env bash
# OpenLDAP's slapd as a PBX's central phone book, on 127.0.0.1 in a throwaway dir: the
# suffix dc=lab,dc=test, people under ou=people (inetOrgPerson), ldap:// and ldaps://
# (the lab certificate; StartTLS too).
#
#   LDAP_PORT=3890 LDAPS_PORT=6360 tests/lab/slapd.sh DIR
#
# Accounts (the way a PBX publishes its phone book: one read-only account for clients):
#   cn=admin,dc=lab,dc=test      password adminpw   the directory's manager (the tests
#                                                    add, change and remove entries)
#   cn=phonebook,ou=system,...   password phonebookpw  reads ou=people only; nothing
#                                                    else, and may not write
# Env: LDAP_PEOPLE (default 0): how many generated people (uid=pNNNNN) to load before
# start, with numbers +1 555 01NNNNN, mobiles, e-mails and five departments;
# LDAP_LDIF (optional): a file of more entries to load on the first start (the demo's
# phone book).
# Writes DIR/slapd.d (cn=config), DIR/db, DIR/ca.pem (what a client must trust). Running
# it again on the same DIR keeps the data (a restart). Prints `ready` once ldap://
# answers, then waits; SIGTERM stops slapd.
set -euo pipefail
# shellcheck source=serve.sh
source "$(dirname "$0")/serve.sh"
# shellcheck source=cert.sh
source "$(dirname "$0")/cert.sh"
dir=$(cd "${1:?usage: slapd.sh DIR}" && pwd)
: "${LDAP_PORT:?}" "${LDAPS_PORT:?}"
people=${LDAP_PEOPLE:-0}
slapd=/usr/sbin/slapd
[ -x "$slapd" ] || { echo "slapd is not installed (tests/lab/debian-packages.sh test)" >&2; exit 1; }

if [ ! -d "$dir/slapd.d" ]; then
  lab_cert "$dir" localhost "DNS:localhost,IP:127.0.0.1"
  mkdir -p "$dir/slapd.d" "$dir/db"
  admin_hash=$(slappasswd -s adminpw)
  reader_hash=$(slappasswd -s phonebookpw)
  cat >"$dir/config.ldif" <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $dir/slapd.pid
olcTLSCACertificateFile: $dir/ca.pem
olcTLSCertificateFile: $dir/cert.pem
olcTLSCertificateKeyFile: $dir/key.pem

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: dc=lab,dc=test
olcDbDirectory: $dir/db
olcDbMaxSize: 1073741824
olcRootDN: cn=admin,dc=lab,dc=test
olcRootPW: $admin_hash
olcDbIndex: objectClass eq
olcDbIndex: entryUUID eq
# Clients page through the phone book (RFC 2696): 500 entries a page, as many pages as
# it takes; a search without paging still stops at 500, as on a stock slapd.
olcLimits: {0}dn.exact="cn=phonebook,ou=system,dc=lab,dc=test" size.soft=500 size.hard=500 size.prtotal=unlimited
olcAccess: {0}to attrs=userPassword by anonymous auth by * none
olcAccess: {1}to dn.subtree="ou=people,dc=lab,dc=test" by dn.exact="cn=phonebook,ou=system,dc=lab,dc=test" read by * none
olcAccess: {2}to dn.base="dc=lab,dc=test" by dn.exact="cn=phonebook,ou=system,dc=lab,dc=test" search by * none
olcAccess: {3}to * by * none
LDIF
  "/usr/sbin/slapadd" -n 0 -F "$dir/slapd.d" -l "$dir/config.ldif" >"$dir/slapadd.log" 2>&1 \
    || { cat "$dir/slapadd.log" >&2; exit 1; }

  {
    printf 'dn: dc=lab,dc=test\nobjectClass: dcObject\nobjectClass: organization\ndc: lab\no: Lab\n\n'
    printf 'dn: ou=people,dc=lab,dc=test\nobjectClass: organizationalUnit\nou: people\n\n'
    printf 'dn: ou=system,dc=lab,dc=test\nobjectClass: organizationalUnit\nou: system\n\n'
    printf 'dn: cn=phonebook,ou=system,dc=lab,dc=test\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: phonebook\nuserPassword: %s\n\n' "$reader_hash"
    departments=(Sales Support Finance Engineering Operations)
    for ((i = 0; i < people; i++)); do
      n=$(printf '%05d' "$i")
      printf 'dn: uid=p%s,ou=people,dc=lab,dc=test\nobjectClass: inetOrgPerson\nuid: p%s\ncn: Person %s\nsn: %s\ngivenName: Person\n' "$n" "$n" "$n" "$n"
      printf 'o: Lab Corp\nou: %s\ntelephoneNumber: +1 555 01%s\nmobile: +1 555 02%s\nmail: p%s@lab.test\n\n' \
        "${departments[$((i % 5))]}" "$n" "$n" "$n"
    done
    [ -n "${LDAP_LDIF:-}" ] && cat "$LDAP_LDIF"
  } >"$dir/data.ldif"
  # -q: no consistency checks while loading (a fresh database from our own LDIF).
  "/usr/sbin/slapadd" -q -n 1 -F "$dir/slapd.d" -l "$dir/data.ldif" >>"$dir/slapadd.log" 2>&1 \
    || { cat "$dir/slapadd.log" >&2; exit 1; }
fi

# -d 0: stay in the foreground (serve waits on it) and log nothing but errors.
"$slapd" -d 0 -F "$dir/slapd.d" -h "ldap://127.0.0.1:$LDAP_PORT/ ldaps://127.0.0.1:$LDAPS_PORT/" \
  >"$dir/slapd.log" 2>&1 &
serve $! slapd "$dir/slapd.log" listening tcp "$LDAP_PORT"
