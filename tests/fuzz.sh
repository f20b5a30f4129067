#!/usr/bin/env bash
# Runs one libFuzzer target (built with -DMILLRACE_FUZZ=ON) for SECONDS from
# its seed corpus. New inputs it finds go to WORK/corpus, not the repository;
# a crash, a sanitizer report or a leak fails the test and leaves the input
# in WORK/artifacts, with the command that reproduces it.
#
#   tests/fuzz.sh BINARY SEED_CORPUS WORK SECONDS
set -euo pipefail
binary=$1
seeds=$2
work=$3
seconds=$4
mkdir -p "$work/corpus" "$work/artifacts"
[[ -d $seeds ]] && [[ -n $(ls -A "$seeds") ]] ||
  { echo "fuzz.sh: no seed corpus in $seeds" >&2; exit 1; }
status=0
"$binary" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" 2>"$work/log" || status=$?
grep -E '^(#[0-9]+.*DONE|Done|stat::number_of_executed_units|stat::new_units_added|INFO: seed corpus)' \
  "$work/log" || true
if ((status != 0)); then
  tail -60 "$work/log" >&2
  for crash in "$work"/artifacts/*; do
    [[ -e $crash ]] && echo "fuzz.sh: reproduce with: $binary $crash" >&2
  done
  exit "$status"
fi
