#!/bin/bash
# docker-compose.yml's passwords and tokens: the one-shot `secrets` runs this
# (as root, on every `up`) before PostgreSQL and the services start, so that
# a fresh clone starts with `docker compose up` alone and still no password
# has a default.
#
# Each MILLRACE_* variable of its environment names one secret. Its value,
# when set (from .env or the shell, through compose), is the secret: it wins,
# on every run. When empty, the value kept from an earlier run stays, and
# the first run makes one (16 random bytes, hex). Each secret is a file named
# after its variable, in one of two directories (two volumes), so that the
# services never mount the tables' owner's password:
#
#   $MILLRACE_SECRETS_OWNER_DIR   MILLRACE_PG_PASSWORD (the superuser, millrace):
#                                 PostgreSQL, the one-shots and the cli
#   $MILLRACE_SECRETS_DIR         every other one: PostgreSQL and the services
#
# and beside it, in the form its reader takes:
#
#   *_PG_PASSWORD   <VAR>          the password, for PostgreSQL's init
#                                  (POSTGRES_PASSWORD_FILE, postgres-init/)
#                   <VAR>.pgpass   libpq's password file (passfile= in the
#                                  services' URLs): any host, database, user
#   other           <VAR>          the token, for you to read
#                   <VAR>.conf     a settings file, VAR=value, for the service's
#                                  MILLRACE_CONFIG_FILE
#
# and for each pair <P>_ACCESS_KEY_ID and <P>_SECRET_ACCESS_KEY (an S3
# store's keys, MILLRACE_S3_*), AWS's shared credentials file, which an S3
# client reads through AWS_SHARED_CREDENTIALS_FILE:
#
#                   <P>_CREDENTIALS  [default] with aws_access_key_id and
#                                    aws_secret_access_key
#
# Owners (uid:gid): the passwords' PostgreSQL's, the rest the millrace
# image's user; each file is readable by its owner only (libpq ignores a
# password file others may read).
#   MILLRACE_SECRETS_OWNERS   default "postgres=999:999 millrace=10001:10001
#                             grafana=472:0"
# A reader of another image gets a copy of its own, <VAR>.<reader>:
#   MILLRACE_SECRETS_COPIES   e.g. "MILLRACE_API_PG_PASSWORD=grafana"
set -euo pipefail

owner_dir=${MILLRACE_SECRETS_OWNER_DIR:?the owner password directory}
dir=${MILLRACE_SECRETS_DIR:?the secrets directory}
declare -A owner=()
for pair in ${MILLRACE_SECRETS_OWNERS:-postgres=999:999 millrace=10001:10001 grafana=472:0}; do
  owner[${pair%%=*}]=${pair#*=}
done
declare -A copies=()
for pair in ${MILLRACE_SECRETS_COPIES:-}; do
  copies[${pair%%=*}]=${pair#*=}
done

# Written whole beside its final name, then renamed: a reader never sees a
# part of it, nor a file readable by others.
put() {  # path owner text
  local tmp
  tmp=$(mktemp "$1.XXXXXX")
  printf '%s\n' "$3" >"$tmp"
  chmod 0400 "$tmp"
  if [[ $(id -u) == 0 ]]; then chown "${owner[$2]}" "$tmp"; fi
  mv -f "$tmp" "$1"
}

made=() kept=() given=()
for var in $(compgen -e | grep '^MILLRACE_' | grep -v '^MILLRACE_SECRETS_' | sort); do
  case $var in
    MILLRACE_PG_PASSWORD) into=$owner_dir ;;
    *) into=$dir ;;
  esac
  file=$into/$var
  if [[ -n ${!var} ]]; then
    value=${!var}
    given+=("$var")
  elif [[ -s $file ]]; then
    value=$(<"$file")
    kept+=("$var")
  else
    value=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
    made+=("$var")
  fi
  if [[ $var == *_PG_PASSWORD ]]; then
    put "$file" postgres "$value"
    # A pgpass line's fields are separated by ':', and '\' escapes.
    put "$file.pgpass" millrace "*:*:*:*:$(sed -e 's/[\\:]/\\&/g' <<<"$value")"
  else
    put "$file" millrace "$value"
    put "$file.conf" millrace "$var=$value"
  fi
  if [[ -n ${copies[$var]:-} ]]; then put "$file.${copies[$var]}" "${copies[$var]}" "$value"; fi
done

# An S3 store's key pair, also as AWS's shared credentials file.
for var in $(compgen -e | grep '^MILLRACE_.*_SECRET_ACCESS_KEY$' | sort); do
  prefix=${var%_SECRET_ACCESS_KEY}
  [[ -s $dir/${prefix}_ACCESS_KEY_ID && -s $dir/$var ]] || continue
  put "$dir/${prefix}_CREDENTIALS" millrace "$(printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s' \
    "$(<"$dir/${prefix}_ACCESS_KEY_ID")" "$(<"$dir/$var")")"
done

# Names only: the values stay in the files.
echo "secrets: made ${made[*]:-none}; kept ${kept[*]:-none}; from the environment ${given[*]:-none}"
