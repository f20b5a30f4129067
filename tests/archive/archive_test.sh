#!/usr/bin/env bash
# The archiver against the real stack, on a topic, schema and group of the
# test's own.
#
#   archive_test.sh sigkill SOURCE_DIR BUILD_DIR   (fault.archive-sigkill)
#     200,000 events (more if the kills wait), 5% of them invalid, produced while millrace-archiver
#     runs; the archiver is SIGKILLed three times while it has files open.
#     Then `millrace archive verify` passes, and fastavro (not Avro C, which
#     wrote them) finds every offset of every partition in exactly one file,
#     with its key, headers and body byte-identical to what kcat reads from
#     the topic; nothing the killed attempts staged is left.
#
#   archive_test.sh rebuild SOURCE_DIR BUILD_DIR   (integration.archive-rebuild)
#     Events archived and aggregated on the test's schema; then the topic's
#     retention is shrunk until its old segments are gone. The archive is
#     replayed into a new topic (twice: the second run must add nothing) and
#     an aggregator on a fresh schema folds it: its views and tables equal
#     the original schema's row by row.
#
#   archive_test.sh verify SOURCE_DIR BUILD_DIR    (integration.archive-verify)
#     A small archive with --empty-files (idle windows get a file with no
#     records, windows with records do not), its metrics linted and
#     counted; a recorded file put back in staging (a crash between commit
#     and move) reported by verify and moved by the next commit; then one
#     file corrupted, one deleted and one stray file added: `archive
#     verify` exits 1 and names all three.
#
# MILLRACE_STATE_DIR names the stack (tests/in_stack.sh).
set -euo pipefail

mode=$1
src=$2
build=$3
# shellcheck source=tests/archive/lib.sh
source "$src/tests/archive/lib.sh"
export MILLRACE_ARCHIVE_ROOT=$work/root

# Files the running archiver has open (its pid starts the writer id in
# their staged names).
own_staged() {
  find "$MILLRACE_ARCHIVE_ROOT/.staging" -name "*-$archiver_pid.*.avro" 2>/dev/null | wc -l
}

staged_files() {
  find "$MILLRACE_ARCHIVE_ROOT/.staging" -name '*.avro' 2>/dev/null | wc -l
}

case $mode in
sigkill)
  # Windows of 3 s and files of at most 2 MB: several files per partition
  # and window, and always some open.
  start_archiver 1 --window-s 3 --max-mb 2
  # Events come in chunks of 25,000 at 5,000/s, a new chunk whenever the
  # last is done, until each kill has found its moment; then chunks up to
  # 200,000 in all. So records keep arriving through every kill however
  # slow the machine (a single 40 s run could end before the third kill
  # found a file open, and did once under CI).
  produced=0 chunk=0 producer=
  next_chunk() {
    local n=$((200000 - produced))
    ((n > 25000 || n <= 0)) && n=25000
    chunk=$((chunk + 1))
    "$millrace" produce --count "$n" --rate 5000 --bad-ratio 0.05 --seed "$((7 + chunk))" \
      >"$work/produce.$chunk.json" 2>"$work/produce.$chunk.err" &
    producer=$!
    produced=$((produced + n))
  }
  finish_chunk() {
    wait "$producer" || fail "millrace produce failed: $(cat "$work/produce.$chunk.err")"
    grep -q "\"delivered\":$(sed -nE 's/.*"total":([0-9]+).*/\1/p' "$work/produce.$chunk.json")," \
      "$work/produce.$chunk.json" || fail "not every event was delivered: $(cat "$work/produce.$chunk.json")"
    producer=
  }
  next_chunk
  stored_before=0
  for kill in 1 2 3; do
    # Each kill a random part of a second after the running member
    # committed at least once since the last kill (so the kills land in
    # different windows, some after a restart's first commit), at a moment
    # it has files of its own open (its pid is in their staged names).
    sleep "0.$((RANDOM % 9 + 1))"
    for _ in $(seq 1 1200); do
      (($(stored_total) > stored_before)) && (($(own_staged) > 0)) && break
      if ! kill -0 "$producer" 2>/dev/null; then
        finish_chunk
        next_chunk
      fi
      sleep 0.1
    done
    open=$(own_staged)
    ((open > 0)) || fail "kill $kill: the archiver had no file open to be killed in the middle of"
    stored_before=$(stored_total)
    kill -9 "$archiver_pid"
    wait "$archiver_pid" 2>/dev/null && fail "kill $kill: the archiver was not killed"
    echo "kill $kill: SIGKILL with $open file(s) of its own open, $stored_before offsets stored"
    start_archiver $((kill + 1)) --window-s 3 --max-mb 2
  done
  while :; do
    finish_chunk
    ((produced < 200000)) || break
    next_chunk
  done
  wait_caught_up
  stop_archiver
  left=$(staged_files)
  ((left == 0)) || fail "$left staged file(s) left: $(find "$MILLRACE_ARCHIVE_ROOT/.staging" -name '*.avro')"
  "$millrace" archive verify | tail -6 || fail "archive verify found discrepancies"
  kcat -C -b "$MILLRACE_BROKERS" -t "$name" -e -q -f '%p %o %K %S %h\n%k%s\n' >"$work/topic.dump"
  "$python" "$src/tests/archive/check_archive.py" "$MILLRACE_ARCHIVE_ROOT" shop "$name" \
    "$work/topic.dump" || fail "fastavro disagrees with the topic"
  files=$(psql -qtA "$MILLRACE_PG" -c "SELECT count(*) FROM $name.archive_files")
  echo "archive_test sigkill: passed ($produced events, 3 kills mid-file, $files files)"
  ;;
rebuild)
  state=${MILLRACE_STATE_DIR:-$src/.state/local}
  kafka_tool() {
    java -Xmx256m -cp "$(cat "$state/kafka.classpath")" \
      -Dlog4j.configuration="file:$src/deploy/local/kafka/tools-log4j.properties" "$@"
  }
  topic_config() {
    kafka_tool kafka.admin.ConfigCommand --bootstrap-server "$MILLRACE_BROKERS" \
      --entity-type topics --entity-name "$1" --alter --add-config "$2" >/dev/null
  }
  low_total() {
    local total=0 p
    for p in 0 1 2 3; do
      total=$((total + $(kcat -Q -b "$MILLRACE_BROKERS" -t "$name:$p:-2" | awk '{print $NF}')))
    done
    echo "$total"
  }
  aggregator=$build/bin/millrace-aggregator
  # Segments roll after a second, so that retention can drop whole ones.
  topic_config "$name" segment.ms=1000
  export MILLRACE_AGGREGATOR_GROUP=${name}_aggregator
  start_archiver 1 --window-s 2
  "$aggregator" >>"$logs/$name.aggregator.log" 2>&1 &
  aggregator_pid=$!
  for burst in 1 2; do
    "$millrace" produce --count 10000 --time-spread 10800 --bad-ratio 0.05 --seed "$burst" >/dev/null
    sleep 1.5
  done
  # Both groups have read everything; then retention takes the topic's
  # segments.
  wait_caught_up
  groups_caught_up() {
    local end
    end=$(end_total "$3")
    for _ in $(seq 1 900); do
      [[ $(psql -qtA "$MILLRACE_PG" -c "SELECT coalesce(sum(next_offset), 0) FROM $1.consumer_offsets
        WHERE group_id = '$2' AND topic = '$3'") == "$end" ]] && return 0
      sleep 0.2
    done
    fail "group $2 did not catch up on $3 in 180 s"
  }
  groups_caught_up "$name" "${name}_aggregator" "$name"
  topic_config "$name" retention.ms=1000
  for _ in $(seq 1 300); do
    (($(low_total) >= 10000)) && break
    sleep 0.2
  done
  gone=$(low_total)
  ((gone >= 10000)) || fail "retention deleted only $gone of 20,000 records in 60 s"
  echo "retention deleted $gone of 20000 records from $name"
  stop_archiver
  kill -TERM "$aggregator_pid"
  wait "$aggregator_pid" || fail "the aggregator exited with status $?"

  # The rebuild: a new topic from the archive, a fresh schema folding it.
  rebuilt=${name}_rebuilt
  psql -q -v ON_ERROR_STOP=1 "$MILLRACE_PG" -c "CREATE SCHEMA $rebuilt" >/dev/null
  MILLRACE_TOPIC=$rebuilt MILLRACE_DLQ_TOPIC=$rebuilt.dlq MILLRACE_CHANGES_TOPIC=$rebuilt.changes \
    "$millrace" create-topics >/dev/null
  for run in 1 2; do
    "$millrace" archive replay --topic "$rebuilt" --from 1970-01-01T00:00:00Z \
      --to 2100-01-01T00:00:00Z >"$work/replay$run.json" || fail "replay $run: $(cat "$work/replay$run.json")"
    echo "replay $run: $(cat "$work/replay$run.json")"
  done
  grep -q '"records":20000,"already_in_topic":0,"produced":20000,"delivered":20000' "$work/replay1.json" ||
    fail "the first replay did not produce all 20,000 records"
  grep -q '"already_in_topic":20000,"produced":0' "$work/replay2.json" ||
    fail "the second replay produced records again"
  MILLRACE_PG_SCHEMA=$rebuilt MILLRACE_TOPIC=$rebuilt MILLRACE_AGGREGATOR_GROUP=${rebuilt}_aggregator \
    "$aggregator" >>"$logs/$name.rebuilt.log" 2>&1 &
  aggregator_pid=$!
  groups_caught_up "$rebuilt" "${rebuilt}_aggregator" "$rebuilt"
  kill -TERM "$aggregator_pid"
  wait "$aggregator_pid" || fail "the rebuilding aggregator exited with status $?"
  aggregator_pid=
  # Row by row, numbers by value (a sum's scale depends on how the events
  # were batched: 47485.0643 and 47485.06430 are the same revenue).
  for relation in agg_hourly agg_daily agg_products agg_categories hourly_sales daily_sales \
    top_products popular_categories late_events_count; do
    if [[ $relation == late_events_count ]]; then
      a="(SELECT count(*) FROM $name.late_events)" b="(SELECT count(*) FROM $rebuilt.late_events)"
    else
      a="(TABLE $name.$relation)" b="(TABLE $rebuilt.$relation)"
    fi
    read -r rows_a rows_b differ < <(psql -qtA -F ' ' "$MILLRACE_PG" -c "SELECT
      (SELECT count(*) FROM $a x), (SELECT count(*) FROM $b y),
      (SELECT count(*) FROM (($a EXCEPT ALL $b) UNION ALL ($b EXCEPT ALL $a)) d)")
    [[ $relation == late_events_count ]] || ((rows_a > 0)) || fail "$name.$relation is empty"
    if [[ $rows_a != "$rows_b" || $differ != 0 ]]; then
      psql "$MILLRACE_PG" -c "($a EXCEPT ALL $b) UNION ALL ($b EXCEPT ALL $a) LIMIT 20" >&2
      fail "$relation: $rows_a row(s) originally, $rows_b rebuilt, $differ differing"
    fi
    echo "equal: $relation ($rows_a row(s))"
  done
  psql -q "$MILLRACE_PG" -c "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $rebuilt CASCADE" >/dev/null
  echo "archive_test rebuild: passed"
  ;;
verify)
  start_archiver 1 --window-s 2 --empty-files
  "$millrace" produce --count 3000 --seed 11 >/dev/null
  wait_caught_up
  # Then nothing comes: each partition gets an empty file for an idle window
  # (judged 2 s after it ends), and none for a window with records.
  for _ in $(seq 1 200); do
    (($(psql -qtA "$MILLRACE_PG" -c "SELECT count(DISTINCT partition) FROM $name.archive_files
      WHERE records = 0") == 4)) && break
    sleep 0.1
  done
  empty=$(psql -qtA "$MILLRACE_PG" -c "SELECT count(DISTINCT partition) FROM $name.archive_files WHERE records = 0")
  ((empty == 4)) || fail "empty window files for $empty of 4 partitions after 20 s idle"
  both=$(psql -qtA "$MILLRACE_PG" -c "SELECT count(*) FROM $name.archive_files e JOIN $name.archive_files f
    USING (partition) WHERE e.records = 0 AND f.records > 0
    AND f.file_time >= e.file_time AND f.file_time < e.file_time + interval '2 seconds'")
  ((both == 0)) || fail "$both window(s) got an empty file beside one with records"
  one_empty=$(psql -qtA "$MILLRACE_PG" -c "SELECT path FROM $name.archive_files WHERE records = 0 LIMIT 1")
  for _ in $(seq 1 50); do [[ -f $MILLRACE_ARCHIVE_ROOT/$one_empty ]] && break; sleep 0.1; done
  "$python" -c 'import sys, fastavro; r = fastavro.reader(open(sys.argv[1], "rb")); n = sum(1 for _ in r)
assert r.writer_schema["name"] == "Microsoft.ServiceBus.Messaging.EventData" and n == 0, n' \
    "$MILLRACE_ARCHIVE_ROOT/$one_empty" || fail "$one_empty is not an empty Capture file"
  echo "empty window files: one per idle partition window, none beside records ($one_empty)"
  # Its metrics: promtool's lint, and every record archived counted once.
  port=$(sed -n 's|.*metrics at http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$logs/$name.archiver.log" | tail -1)
  [[ -n $port ]] || fail "the archiver's log does not say where its metrics are"
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/metrics" >"$work/metrics.txt"
    grep -q '^millrace_archive_records_total' "$work/metrics.txt" && break
    sleep 0.1
  done
  "$src/tests/promtool.sh" metrics "$work/metrics.txt" >/dev/null || fail "promtool finds fault with the archiver's metrics"
  archived=$(awk '/^millrace_archive_records_total/ {s += $2} END {print s + 0}' "$work/metrics.txt")
  ((archived == 3000)) || fail "millrace_archive_records_total sums to $archived, not 3000"
  grep -q '^millrace_archive_newest_record_age_seconds{partition="3",topic="'"$name"'"}' "$work/metrics.txt" ||
    fail "no newest-record age for partition 3"
  stop_archiver
  "$millrace" archive verify >"$work/verify-ok.txt" || fail "a fresh archive fails verify: $(cat "$work/verify-ok.txt")"

  # A crash between a commit and the move of its files: put one recorded
  # file of partition 1 back where it was staged and mark it unpublished.
  # verify says so; the partition's next commit moves it into place.
  read -r moved staged < <(psql -qtA -F ' ' "$MILLRACE_PG" -c "SELECT path, staged FROM $name.archive_files
    WHERE partition = 1 AND records > 0 ORDER BY from_offset LIMIT 1")
  mkdir -p "$(dirname "$MILLRACE_ARCHIVE_ROOT/.staging/$staged")"
  mv "$MILLRACE_ARCHIVE_ROOT/$moved" "$MILLRACE_ARCHIVE_ROOT/.staging/$staged"
  psql -q "$MILLRACE_PG" -c "UPDATE $name.archive_files SET published = false WHERE path = '$moved'"
  set +e
  "$millrace" archive verify >"$work/verify-staged.txt"
  rc=$?
  set -e
  ((rc == 1)) && grep -qF "$moved: recorded but not yet published" "$work/verify-staged.txt" ||
    fail "verify does not report the staged file: $(cat "$work/verify-staged.txt")"
  start_archiver 2 --window-s 2
  "$millrace" produce --count 400 --seed 12 >/dev/null
  wait_caught_up
  stop_archiver
  [[ -f $MILLRACE_ARCHIVE_ROOT/$moved && ! -e $MILLRACE_ARCHIVE_ROOT/.staging/$staged ]] ||
    fail "the next commit did not move $staged into place"
  [[ $(psql -qtA "$MILLRACE_PG" -c "SELECT published FROM $name.archive_files WHERE path = '$moved'") == t ]] ||
    fail "$moved is not marked published"
  "$millrace" archive verify >"$work/verify-ok.txt" || fail "verify after the move: $(cat "$work/verify-ok.txt")"
  echo "a recorded file left staged by a crash was moved into place by the partition's next commit"
  mapfile -t files < <(psql -qtA "$MILLRACE_PG" -c "SELECT path FROM $name.archive_files ORDER BY path")
  ((${#files[@]} >= 2)) || fail "expected at least 2 files, got ${#files[@]}"
  corrupt=${files[0]}
  deleted=${files[1]}
  # One byte flipped in the middle: the size stays, the checksum does not.
  size=$(stat -c %s "$MILLRACE_ARCHIVE_ROOT/$corrupt")
  printf '\xff' | dd of="$MILLRACE_ARCHIVE_ROOT/$corrupt" bs=1 seek=$((size / 2)) conv=notrunc status=none
  rm "$MILLRACE_ARCHIVE_ROOT/$deleted"
  stray=shop/$name/0/2020/01/01/00/00/00.avro
  mkdir -p "$(dirname "$MILLRACE_ARCHIVE_ROOT/$stray")"
  cp "$MILLRACE_ARCHIVE_ROOT/$corrupt" "$MILLRACE_ARCHIVE_ROOT/$stray"
  set +e
  "$millrace" archive verify >"$work/verify-bad.txt"
  rc=$?
  set -e
  cat "$work/verify-bad.txt"
  ((rc == 1)) || fail "archive verify exited $rc, not 1"
  grep -qF "$corrupt: checksum mismatch" "$work/verify-bad.txt" || fail "the corrupt file is not named"
  grep -qF "$deleted: missing" "$work/verify-bad.txt" || fail "the deleted file is not named"
  grep -qF "$stray: in the archive but recorded by no row" "$work/verify-bad.txt" || fail "the stray file is not named"
  grep -q '^FAILED: .* 3 discrepancies$' "$work/verify-bad.txt" || fail "expected exactly 3 discrepancies"
  echo "archive_test verify: passed"
  ;;
*)
  echo "usage: archive_test.sh sigkill|rebuild|verify SOURCE_DIR BUILD_DIR" >&2
  exit 2
  ;;
esac
