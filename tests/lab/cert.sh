# Sourced by the lab scripts that serve TLS: a throwaway CA and a server certificate.
#
#   lab_cert DIR CN SAN
#
# Writes DIR/ca.pem (what a client must trust), DIR/ca.key, DIR/key.pem and
# DIR/cert.pem (CN, subjectAltName SAN such as "DNS:localhost,IP:127.0.0.1"), valid two
# days. A CA signs the server certificate because strict verifiers (rustls/webpki)
# refuse a self-signed CA certificate used as the server's own.

lab_cert() {
  local dir=$1 cn=$2 san=$3
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ucdesk lab CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout "$dir/key.pem" \
    -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' \
    "$san" >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/server.ext" -out "$dir/cert.pem" 2>/dev/null
}
