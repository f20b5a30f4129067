#!/usr/bin/env bash
# tests/promtool.sh — checks of the Prometheus side of Millrace with promtool
# (Debian package prometheus; scripts/bootstrap installs it). Needs no network.
#
#   tests/promtool.sh check           check deploy/prometheus/prometheus.yml, check
#                                     its alerting rules and run their unit tests
#   tests/promtool.sh metrics FILE... lint /metrics output saved in FILEs ('-' is
#                                     stdin); any finding, warnings included, and
#                                     an empty FILE fail
#
# Exit status: 0 if everything passed, 1 if a check failed, 2 on a usage error
# or when promtool is missing.
set -euo pipefail

REPO_ROOT=$(realpath -- "$(dirname -- "${BASH_SOURCE[0]}")/..")
readonly REPO_ROOT

usage() { sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

# promtool's own output, set off from ours.
indent() {
  local line
  [[ -n $1 ]] || return 0
  while IFS= read -r line; do printf '      | %s\n' "$line"; done <<<"$1"
}

need_promtool() {
  PROMTOOL=${PROMTOOL:-promtool}
  if ! command -v "$PROMTOOL" >/dev/null 2>&1; then
    printf 'promtool.sh: error: promtool not found; install the Debian package "prometheus" (scripts/bootstrap does)\n' >&2
    exit 2
  fi
}

failures=0

# Runs promtool with its output shown, indented, under a header line.
run() {
  local label=$1 out rc=0
  shift
  out=$("$PROMTOOL" "$@" 2>&1) || rc=$?
  if ((rc == 0)); then
    printf 'ok    %s\n' "$label"
  else
    printf 'FAIL  %s (promtool exit status %d)\n' "$label" "$rc"
    failures=$((failures + 1))
  fi
  indent "$out"
}

cmd_check() {
  (($# == 0)) || {
    printf 'promtool.sh: error: check takes no arguments\n' >&2
    exit 2
  }
  # promtool names files as given; relative to the repository they read well.
  cd -- "$REPO_ROOT"
  run "config deploy/prometheus/prometheus.yml" \
    check config deploy/prometheus/prometheus.yml
  run "rules deploy/prometheus/rules/millrace.yml" \
    check rules deploy/prometheus/rules/millrace.yml
  run "rule unit tests deploy/prometheus/tests/millrace_test.yml" \
    test rules deploy/prometheus/tests/millrace_test.yml
}

cmd_metrics() {
  (($# > 0)) || {
    printf 'promtool.sh: error: metrics needs at least one FILE\n' >&2
    exit 2
  }
  local file text out rc
  for file in "$@"; do
    if [[ $file == - ]]; then
      text=$(cat)
    elif [[ -f $file && -r $file ]]; then
      text=$(<"$file")
    else
      printf 'FAIL  metrics %s (cannot read it)\n' "$file"
      failures=$((failures + 1))
      continue
    fi
    # promtool accepts empty input, but every service exports build_info.
    if [[ -z ${text//[[:space:]]/} ]]; then
      printf 'FAIL  metrics %s (no metrics in it)\n' "$file"
      failures=$((failures + 1))
      continue
    fi
    rc=0
    out=$("$PROMTOOL" check metrics 2>&1 <<<"$text") || rc=$?
    # promtool exits 0 on some findings; anything it prints is a finding.
    if ((rc == 0)) && [[ -z $out ]]; then
      printf 'ok    metrics %s\n' "$file"
    else
      printf 'FAIL  metrics %s (promtool exit status %d)\n' "$file" "$rc"
      indent "$out"
      failures=$((failures + 1))
    fi
  done
}

main() {
  local command=${1:-}
  (($#)) && shift
  case $command in
    -h | --help | help)
      usage
      return 0
      ;;
    check)
      need_promtool
      cmd_check "$@"
      ;;
    metrics)
      need_promtool
      cmd_metrics "$@"
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
  if ((failures > 0)); then
    printf 'promtool.sh: %d check(s) failed\n' "$failures" >&2
    exit 1
  fi
}

main "$@"
