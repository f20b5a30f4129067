#!/usr/bin/env bash
# ctest's sanitize.built (tests/cmake/fault.cmake): waits until scripts/test's
# background build of the sanitizer tree has ended, and passes if it built.
# scripts/test writes the builder's pid to TREE/millrace-build.pid when it
# starts it and the build's exit status to TREE/millrace-build.status when
# it ends; LOG is the build's output.
#
#   tests/sanitize_tree.sh TREE LOG
set -euo pipefail
tree=$1
log=$2
status_file=$tree/millrace-build.status
pid_file=$tree/millrace-build.pid
while [[ ! -s $status_file ]]; do
  if [[ ! -s $pid_file ]] || ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    # Read again: the build may have ended between the two checks.
    [[ -s $status_file ]] && break
    echo "sanitize_tree.sh: no build of $tree is running and none has ended;" \
      "scripts/test builds it (or configure this tree without MILLRACE_SANITIZE_TREE)" >&2
    exit 1
  fi
  sleep 2
done
status=$(cat "$status_file")
if [[ $status != 0 ]]; then
  tail -n 60 "$log" >&2 || true
  echo "sanitize_tree.sh: the sanitizer tree did not build (exit $status; $log)" >&2
  exit 1
fi
echo "sanitize_tree.sh: $tree is built"
