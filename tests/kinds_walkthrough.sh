#!/usr/bin/env bash
# docs/kinds.md's walk-through, run as written: its ```bash blocks, in
# order, in one shell that stops at the first failure, from the checkout's
# root, against the test stack (MILLRACE_STATE_DIR), in a schema and with a
# topic of their own. A kind added by declaration alone: no C++.
#
#   kinds_walkthrough.sh SOURCE_DIR BIN_DIR
set -euo pipefail
source_dir=$1
bin_dir=$2
doc=$source_dir/docs/kinds.md
script=$(mktemp)
trap 'rm -f "$script"; jobs -p | xargs -r kill 2>/dev/null' EXIT
{
  echo 'set -euo pipefail'
  # The doc runs build/bin/...: the build tree under test may be elsewhere.
  awk '/^```bash$/ {on = 1; next} /^```$/ {on = 0; next} on' "$doc" |
    sed "s#build/bin/#$bin_dir/#g"
} >"$script"
blocks=$(grep -c '^```bash$' "$doc")
if ((blocks < 8)); then
  echo "docs/kinds.md has $blocks bash blocks; the walk-through has eight steps" >&2
  exit 1
fi
suffix=$$_$RANDOM
cd "$source_dir"
MILLRACE_PG_SCHEMA=kinds_walk_$suffix MILLRACE_SHIPMENTS_TOPIC=kinds_walk_$suffix \
  timeout 240 bash "$script"
echo "docs/kinds.md: $blocks blocks ran"
