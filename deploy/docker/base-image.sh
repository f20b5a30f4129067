#!/usr/bin/env bash
# deploy/docker/base-image.sh — makes sure the Docker engine has the Debian
# base images every Dockerfile of deploy/docker/ starts from,
# debian:bookworm and debian:bookworm-slim:
# - already there: nothing is done;
# - else pulled from the registry (Docker Hub's official images), where one
#   is reachable;
# - else made here: debootstrap --variant=minbase bookworm from Debian's
#   mirror, trimmed the way Docker's official slim images are (no package
#   caches, lists, documentation, manual pages or translations, and dpkg and
#   apt told to keep it so), imported with `docker import` and tagged with
#   both names. docs/compose.md says what differs from the pulled ones.
# Usage: deploy/docker/base-image.sh [--local]  (--local: never pull)
# Needs root for debootstrap; MILLRACE_DEBIAN_MIRROR overrides the mirror.
set -euo pipefail

readonly SUITE=bookworm
readonly MIRROR=${MILLRACE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly TAGS=("debian:$SUITE" "debian:$SUITE-slim")

log() { printf 'base-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

pull=true
[[ ${1:-} != --local ]] || pull=false

missing=()
for tag in "${TAGS[@]}"; do have_image "$tag" || missing+=("$tag"); done
((${#missing[@]} > 0)) || exit 0

if $pull; then
  for tag in "${missing[@]}"; do
    if docker pull -q "$tag" >/dev/null 2>&1; then log "pulled $tag"; fi
  done
  missing=()
  for tag in "${TAGS[@]}"; do have_image "$tag" || missing+=("$tag"); done
  ((${#missing[@]} > 0)) || exit 0
  log "no registry gave ${missing[*]}: making $SUITE here with debootstrap"
fi

command -v debootstrap >/dev/null 2>&1 || die "debootstrap is needed (apt-get install debootstrap)"
[[ $EUID -eq 0 ]] || die "debootstrap needs root"
root=$(mktemp -d /var/tmp/millrace-rootfs.XXXXXX)
trap 'rm -rf --one-file-system "$root"' EXIT
started=$SECONDS
debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1 ||
  { tail -n 20 "$root.log" >&2; rm -f "$root.log"; die "debootstrap failed"; }
rm -f "$root.log"

# What Docker's official slim images do to stay small, kept for every later
# apt-get install in the images built on it.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
CFG
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
echo 'APT::Install-Recommends "false";' >"$root/etc/apt/apt.conf.d/docker-no-recommends"
printf 'deb %s %s main\ndeb %s %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
  "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SUITE" >"$root/etc/apt/sources.list"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
  "$root"/var/log/* "$root"/tmp/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
  "$root"/usr/share/locale/* "$root"/usr/share/groff/* "$root"/usr/share/lintian/*
find "$root/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
# The manual's section directories stay, empty, as in Docker's slim images:
# some packages' scripts link into them (openjdk-17-jre-headless' postinst
# fails without /usr/share/man/man1).
mkdir -p "$root"/usr/share/man/man{1,2,3,4,5,6,7,8}

id=$(tar -C "$root" -c . | docker import --change 'CMD ["bash"]' \
  --message "debootstrap --variant=minbase $SUITE ($MIRROR), trimmed as Docker's slim images" - "${TAGS[0]}")
for tag in "${TAGS[@]:1}"; do docker tag "$id" "$tag"; done
log "made ${TAGS[*]} with debootstrap in $((SECONDS - started)) s ($(docker image inspect -f '{{.Size}}' "$id" | awk '{printf "%d MB", $1 / 1e6}'))"
