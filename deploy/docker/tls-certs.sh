#!/bin/bash
# The secure compose profile's certificates: deploy/docker/compose.secure.yml
# runs this as the one-shot `certs` (as root, on every `up`) before Kafka,
# PostgreSQL, the producer and the API start. Under $MILLRACE_TLS_DIR (/tls),
# one directory per volume, so that each server mounts its own key and
# nothing else:
#
#   ca/ca.crt                   the CA every client trusts (public)
#   ca-key/ca.key               its key, mounted by this step only
#   kafka/keystore.pem          the broker's PEM keystore: key, then certificate
#   kafka/server.{crt,key}      the same key and certificate, as files
#   postgres/server.{crt,key}   PostgreSQL's
#   producer/server.{crt,key}   millrace-producer's (HTTPS)
#   api/server.{crt,key}        millrace-api's (HTTPS)
#
# What is missing is made: a CA (10 years), and for each server a key and a
# certificate the CA signs (825 days) for its compose name, localhost and
# 127.0.0.1. What is there is kept, so a renewal is: remove that server's
# volume, `up` again. Your own files in $MILLRACE_TLS_DIR/import (PEM, keys
# unencrypted) replace them on every run: ca.crt, <server>.crt (its
# certificate, then any intermediates) with <server>.key, and ca.key only if
# the certificates you do not bring should still be made. Last, every
# server's certificate must verify against ca.crt for its compose name, be
# valid now, and match its key; if not, this step fails and nothing starts.
#
# Owners (uid:gid) of each server's files: the user its image runs as.
#   MILLRACE_TLS_OWNERS   default "kafka=1000:1000 postgres=999:999
#                         producer=10001:10001 api=10001:10001" (apache/kafka's
#                         appuser, the postgres image's postgres, the millrace
#                         image's millrace)
set -euo pipefail

dir=${MILLRACE_TLS_DIR:-/tls}
import=$dir/import
servers=(kafka postgres producer api)
declare -A owner=()
for pair in ${MILLRACE_TLS_OWNERS:-kafka=1000:1000 postgres=999:999 producer=10001:10001 api=10001:10001}; do
  owner[${pair%%=*}]=${pair#*=}
done

log() { printf 'certs: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

for d in ca ca-key "${servers[@]}"; do
  [[ -d $dir/$d ]] || die "$dir/$d is missing: compose.secure.yml mounts a volume there"
  [[ -n ${owner[$d]:-} || $d == ca || $d == ca-key ]] || die "MILLRACE_TLS_OWNERS names no owner for $d"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# An unencrypted private key, rewritten as PKCS#8 (what Kafka's PEM keystore
# reads; PostgreSQL and the HTTP services read it too).
normalized_key() {
  openssl pkey -passin pass: -in "$1" -out "$2" 2>"$tmp/pkey.err" ||
    die "$1 is not an unencrypted private key: $(head -n 1 "$tmp/pkey.err")"
}

# The CA.
if [[ -f $import/ca.crt ]]; then
  install -m 0644 "$import/ca.crt" "$dir/ca/ca.crt"
  if [[ -f $import/ca.key ]]; then
    normalized_key "$import/ca.key" "$tmp/ca.key"
    install -m 0600 "$tmp/ca.key" "$dir/ca-key/ca.key"
  else
    # A key left from a CA made here earlier signs nothing the new CA vouches for.
    rm -f "$dir/ca-key/ca.key"
  fi
  log "ca: taken from $import"
elif [[ ! -f $dir/ca/ca.crt ]]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Millrace compose CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$tmp/ca.key" -out "$tmp/ca.crt" 2>"$tmp/openssl.log" ||
    die "openssl could not make the CA: $(tail -n 3 "$tmp/openssl.log")"
  install -m 0600 "$tmp/ca.key" "$dir/ca-key/ca.key"
  install -m 0644 "$tmp/ca.crt" "$dir/ca/ca.crt"
  log "ca: made a new CA"
else
  log "ca: kept"
fi

for s in "${servers[@]}"; do
  crt=$dir/$s/server.crt key=$dir/$s/server.key
  if [[ -f $import/$s.crt || -f $import/$s.key ]]; then
    [[ -f $import/$s.crt && -f $import/$s.key ]] || die "$import holds only one of $s.crt and $s.key"
    normalized_key "$import/$s.key" "$tmp/$s.key"
    install -m 0644 "$import/$s.crt" "$crt"
    install -m 0600 "$tmp/$s.key" "$key"
    log "$s: taken from $import"
  elif [[ -f $crt && -f $key ]]; then
    log "$s: kept"
  else
    [[ -f $dir/ca-key/ca.key ]] ||
      die "no certificate for $s, and no CA key to make one: put $s.crt and $s.key in $import (or ca.key)"
    printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
      "$s" >"$tmp/$s.ext"
    {
      openssl req -newkey rsa:2048 -nodes -subj "/CN=$s" -keyout "$tmp/$s.key" -out "$tmp/$s.csr" &&
        openssl x509 -req -days 825 -in "$tmp/$s.csr" -CA "$dir/ca/ca.crt" -CAkey "$dir/ca-key/ca.key" \
          -CAcreateserial -CAserial "$tmp/ca.srl" -extfile "$tmp/$s.ext" -out "$tmp/$s.crt"
    } 2>"$tmp/openssl.log" || die "openssl could not make $s's certificate: $(tail -n 3 "$tmp/openssl.log")"
    install -m 0644 "$tmp/$s.crt" "$crt"
    install -m 0600 "$tmp/$s.key" "$key"
    log "$s: made a key and a certificate for $s, localhost and 127.0.0.1"
  fi

  # What every client will check, checked before anything starts.
  openssl verify -CAfile "$dir/ca/ca.crt" -untrusted "$crt" -purpose sslserver -verify_hostname "$s" \
    "$crt" >"$tmp/verify.log" 2>&1 ||
    die "$s's certificate does not verify against ca/ca.crt for the name $s: $(grep -m 1 error "$tmp/verify.log" || tail -n 1 "$tmp/verify.log")"
  [[ $(openssl x509 -in "$crt" -noout -pubkey) == $(openssl pkey -in "$key" -pubout) ]] ||
    die "$s's key is not its certificate's"
  openssl x509 -in "$crt" -noout -checkend 2592000 >/dev/null ||
    log "warning: $s's certificate expires within 30 days ($(openssl x509 -in "$crt" -noout -enddate))"

  if [[ $s == kafka ]]; then
    cat "$key" "$crt" >"$tmp/keystore.pem"
    install -m 0600 "$tmp/keystore.pem" "$dir/kafka/keystore.pem"
  fi
  chown -R "${owner[$s]}" "$dir/$s"
  chmod 0755 "$dir/$s"
done
chmod 0755 "$dir/ca"
chmod 0700 "$dir/ca-key"
log "ready: $(openssl x509 -in "$dir/ca/ca.crt" -noout -subject), $(openssl x509 -in "$dir/ca/ca.crt" -noout -enddate)"
