#!/usr/bin/env bash
# peers.kafka-zombie-offsets: tests/peers/zombie_offsets.py (kafka-python, from
# scripts/bootstrap's test venv) against the stack's broker.
#
#   zombie_offsets.sh SOURCE_DIR
set -euo pipefail
src=$1
python=$src/.cache/venv/bin/python
"$python" -c 'import kafka' 2>/dev/null ||
  { echo "${0##*/}: kafka-python is not installed in $src/.cache/venv; run scripts/bootstrap" >&2; exit 1; }
eval "$("$src/deploy/local/stack" env)"
exec "$python" "$src/tests/peers/zombie_offsets.py" "${MILLRACE_BROKERS:?the stack printed no MILLRACE_BROKERS}" \
  "${MILLRACE_TOPIC:?the stack printed no MILLRACE_TOPIC}"
