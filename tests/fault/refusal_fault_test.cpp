// Records PostgreSQL refuses, offsets retention took, and every way a
// worker stops. None may halt the pipeline silently or lose a record
// without saying so.
#include <librdkafka/rdkafka.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <map>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "fault_report.hpp"
#include "pipeline.hpp"
#include "scrape.hpp"
#include "store_events.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const std::map<std::string, std::string> kSmallBatches = {{"MILLRACE_BATCH_SIZE", "500"}};

struct Letter {
  std::string reason;
  std::string sqlstate;
  std::string detail;
};

// Every dead letter of the pipeline, by source (partition, offset); the topic
// is at-least-once, so a source may repeat. Reads until `expected` distinct
// sources arrived or a minute passed.
std::map<std::pair<std::int32_t, std::int64_t>, Letter> dead_letters(const Pipeline& p,
                                                                     std::size_t expected) {
  NoRebalance listener;
  kafka::ConsumerConfig cc;
  cc.brokers = p.env.brokers;
  cc.group_id = unique_name("refusal_dlq_reader");
  kafka::Consumer reader(cc, &listener);
  reader.subscribe({p.dlq_topic});
  std::map<std::pair<std::int32_t, std::int64_t>, Letter> out;
  const auto until = std::chrono::steady_clock::now() + seconds(60);
  while (out.size() < expected && std::chrono::steady_clock::now() < until) {
    auto msg = reader.poll(milliseconds(200));
    if (!msg) continue;
    const auto header = [&](std::string_view name) {
      return std::string(msg->header(name).value_or(""));
    };
    out[{std::stoi(header("millrace.source.partition")),
         std::stoll(header("millrace.source.offset"))}] =
        Letter{header("millrace.reason"), header("millrace.sqlstate"), header("millrace.detail")};
  }
  reader.close();
  return out;
}

std::int64_t sql_int(const std::string& pg, const std::string& query) {
  pqxx::connection c(pg);
  pqxx::work tx(c);
  return tx.exec1(query)[0].as<std::int64_t>();
}

void sql(const std::string& pg, const std::string& statement) {
  pqxx::connection c(pg);
  pqxx::work tx(c);
  tx.exec(statement);
  tx.commit();
}

// The generated events of a seed, by id (the oracle's quantities and skus).
std::map<std::string, core::StoreEvent> events_of(std::int64_t count, std::uint64_t seed,
                                                  double bad_ratio) {
  auto generator = store_event_generator({.seed = seed, .bad_ratio = bad_ratio});
  std::map<std::string, core::StoreEvent> out;
  for (std::int64_t i = 0; i < count; ++i) {
    if (auto event = valid_store_event(generator.next().payload)) {
      out.emplace(event->id, std::move(*event));
    }
  }
  return out;
}

// Deletes every record below `before` per partition, as retention would.
void delete_records(const std::string& brokers, const std::string& topic,
                    const std::map<std::int32_t, std::int64_t>& before) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err) ==
          RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  REQUIRE(rk != nullptr);
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(before.size()));
  for (const auto& [partition, offset] : before) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = offset;
  }
  rd_kafka_DeleteRecords_t* del = rd_kafka_DeleteRecords_new(list);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_DeleteRecords(rk, &del, 1, nullptr, queue);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 30000);
  REQUIRE(ev != nullptr);
  INFO("DeleteRecords: " << rd_kafka_event_error_string(ev));
  CHECK(rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR);
  const auto* result = rd_kafka_event_DeleteRecords_result(ev);
  REQUIRE(result != nullptr);
  const auto* offsets = rd_kafka_DeleteRecords_result_offsets(result);
  for (int i = 0; i < offsets->cnt; ++i) {
    INFO("partition " << offsets->elems[i].partition);
    CHECK(offsets->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(queue);
  rd_kafka_DeleteRecords_destroy(del);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_destroy(rk);
}

double metric(const Child& child, const std::string& name,
              const std::map<std::string, std::string>& labels) {
  try {
    return sum_of(parse_exposition(http_get(child.metrics_port, "/metrics")), name, labels);
  } catch (const std::runtime_error&) {
    return -1;  // not listening (yet)
  }
}

std::string log_of(const Pipeline& p, const std::string& name) {
  return read_file(p.log_dir + "/" + p.topic + "." + name + ".log");
}

}  // namespace

TEST_CASE("records PostgreSQL refuses mid-run are set aside with their reason; the rest commits",
          "[db-refused]") {
  constexpr std::int64_t kCount = 60'000;
  constexpr std::uint64_t kSeed = 2323;
  Pipeline p("ft_refuse");
  p.produce(kCount, kSeed, 0.05);
  const std::string s = "\"" + p.schema + "\"";
  const std::string agg_group = p.group + "_agg";
  auto a = p.start_sink("sink-a", kSmallBatches);
  auto b = p.start_sink("sink-b", kSmallBatches);

  // An operator adds constraints while the workers run (NOT VALID: rows
  // already stored stay; new and updated rows are checked).
  REQUIRE(eventually([&] { return p.stored_total() >= p.end_total() / 5; }, seconds(120)));
  REQUIRE(p.stored_total() < p.end_total());
  REQUIRE(eventually(
      [&] {
        return sql_int(p.env.pg,
                       "SELECT count(*) FROM information_schema.tables WHERE "
                       "table_schema = '" +
                           p.schema + "' AND table_name = 'agg_products'") == 1;
      },
      seconds(60)));
  sql(p.env.pg,
      "ALTER TABLE " + s + ".store_events ADD CONSTRAINT ops_qty_cap CHECK (qty <= 45) NOT VALID");
  sql(p.env.pg,
      "ALTER TABLE " + s +
          ".agg_products ADD CONSTRAINT ops_sku_ban CHECK (sku % 45000 <> 13750) NOT VALID");
  Stopwatch recovery;
  // The aggregator (whose tables the sinks migrated) meets its constraint
  // in its first batches.
  auto agg = p.start("millrace-aggregator", "agg",
                     {{"MILLRACE_AGGREGATOR_GROUP", agg_group}, {"MILLRACE_BATCH_SIZE", "2000"}});

  REQUIRE(p.wait_caught_up(seconds(300)));
  REQUIRE(eventually([&] { return p.stored_total(agg_group) == p.end_total(); }, seconds(300)));
  const double recovery_s = recovery.seconds();
  CHECK(a.running());
  CHECK(b.running());
  CHECK(agg.running());

  // The sink: every kept event is a row or a db_refused dead letter, never
  // both, never neither; only events over the cap are refused.
  const auto events = events_of(kCount, kSeed, 0.05);
  std::map<std::string, std::pair<std::int32_t, std::int64_t>> rows;
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    for (const auto& r :
         tx.exec("SELECT id::text, kafka_partition, kafka_offset FROM " + s + ".store_events")) {
      CHECK(rows.emplace(r[0].as<std::string>(),
                         std::make_pair(r[1].as<std::int32_t>(), r[2].as<std::int64_t>()))
                .second);
    }
  }
  std::size_t expected_bad = 0, kept = 0;
  for (const auto& [where, e] : p.expected()) {
    if (e.bad) ++expected_bad;
    if (e.kept) ++kept;
  }
  const std::size_t refused_rows = kept - rows.size();
  const auto letters = dead_letters(p, expected_bad + refused_rows);
  std::uint64_t refused = 0, lost = 0, duplicated = 0;
  for (const auto& [where, e] : p.expected()) {
    if (!e.kept) continue;
    const auto row = rows.find(e.id);
    const auto letter = letters.find(where);
    const bool as_letter = letter != letters.end() && letter->second.reason == "db_refused";
    INFO("event " << e.id << " at " << where.first << "/" << where.second);
    if (row == rows.end() && !as_letter) ++lost;
    if (row != rows.end() && as_letter) ++duplicated;
    if (row != rows.end()) CHECK(row->second == where);
    if (as_letter) {
      ++refused;
      CHECK(events.at(e.id).qty > 45);
      CHECK(letter->second.sqlstate == "23514");
      CHECK(letter->second.detail.find("ops_qty_cap") != std::string::npos);
    }
  }
  CHECK(lost == 0);
  CHECK(duplicated == 0);
  CHECK(refused > 0);  // the constraint really landed mid-run
  CHECK(refused == refused_rows);

  // Accounting: the refused records are rejected, with their reason.
  const auto outcome = [&](const std::string& group, const std::string& where) {
    return sql_int(p.env.pg, "SELECT coalesce(sum(records), 0) FROM " + s +
                                 ".record_outcomes WHERE group_id = '" + group + "' AND " + where);
  };
  CHECK(outcome(p.group, "outcome = 'rejected' AND reason = 'db_refused'") ==
        static_cast<std::int64_t>(refused));
  CHECK(outcome(p.group, "outcome = 'rejected'") ==
        static_cast<std::int64_t>(expected_bad + refused));
  CHECK(outcome(p.group, "outcome = 'persisted'") == static_cast<std::int64_t>(rows.size()));
  const auto unaccounted = sql_int(
      p.env.pg, "SELECT coalesce(sum(abs(unaccounted)), 0) FROM " + s + ".partition_accounting");
  CHECK(unaccounted == 0);
  CHECK(sql_int(p.env.pg, "SELECT coalesce(sum(consumed), 0) FROM " + s +
                              ".partition_accounting WHERE group_id = '" + p.group + "'") ==
        kCount);

  // The aggregator: its refused records are in refused_records, one row per
  // db_refused outcome, each an event with a sku the constraint forbids
  // (one sku in 300 of the generator's, which has 300 per category band of 45,000, 150
  // apart from 100,000: few enough that isolating them stays cheap).
  const auto agg_refused = outcome(agg_group, "outcome = 'rejected' AND reason = 'db_refused'");
  CHECK(agg_refused > 0);
  CHECK(sql_int(p.env.pg, "SELECT count(*) FROM " + s + ".refused_records WHERE group_id = '" +
                              agg_group + "'") == agg_refused);
  CHECK(sql_int(p.env.pg, "SELECT count(*) FROM " + s + ".refused_records WHERE group_id = '" +
                              agg_group +
                              "' AND (sqlstate <> '23514' OR (payload::jsonb->>'sku')"
                              "::bigint % 45000 <> 13750)") == 0);

  // Metrics count them as rejected too.
  CHECK(metric(a, "millrace_records_outcome_total",
               {{"outcome", "rejected"}, {"reason", "db_refused"}}) +
            metric(b, "millrace_records_outcome_total",
                   {{"outcome", "rejected"}, {"reason", "db_refused"}}) ==
        static_cast<double>(refused));

  record_fault({"db-refused", static_cast<std::uint64_t>(kCount), lost, duplicated,
                static_cast<std::uint64_t>(unaccounted), recovery_s});
  CHECK(stop_cleanly({&a, &b, &agg}));
}

TEST_CASE("with MILLRACE_ERRORS_TOLERANCE=none the first refused record stops the worker cleanly",
          "[db-refused-stop]") {
  Pipeline p("ft_refuse_stop");
  p.produce(5'000, 99, 0.0);
  const std::string s = "\"" + p.schema + "\"";
  // The schema first, then the constraint, then the worker.
  std::string out;
  REQUIRE(run(bin("millrace"), {"migrate"},
              {{"MILLRACE_PG", p.env.pg}, {"MILLRACE_PG_SCHEMA", p.schema}}, &out) == 0);
  sql(p.env.pg, "ALTER TABLE " + s + ".store_events ADD CONSTRAINT ops_qty_cap CHECK (qty <= 45)");
  auto sink = p.start_sink("sink", {{"MILLRACE_ERRORS_TOLERANCE", "none"}});
  const auto status = sink.wait(seconds(120));
  REQUIRE(status.has_value());
  // A fatal error ends the process with 1 after leaving the group: never a
  // crash on the way out (it was SIGSEGV, 139, in the rebalance callback).
  CHECK(*status == 1);
  const auto log = log_of(p, "sink");
  CHECK(log.find("MILLRACE_ERRORS_TOLERANCE=none stops here") != std::string::npos);
  CHECK(log.find("ops_qty_cap") != std::string::npos);
  CHECK(log.find("AddressSanitizer") == std::string::npos);
  // Nothing of the refused batch committed.
  CHECK(sql_int(p.env.pg, "SELECT coalesce(sum(records), 0) FROM " + s +
                              ".record_outcomes WHERE outcome = 'rejected'") == 0);
}

TEST_CASE(
    "retention past a stopped sink's offset halts the partition by default, or is recorded "
    "as lost with MILLRACE_ON_OFFSET_GAP=skip",
    "[retention]") {
  Pipeline p("ft_retention");
  p.produce(4'000, 61, 0.05);
  {
    auto sink = p.start_sink("sink-1");
    REQUIRE(p.wait_caught_up(seconds(120)));
    CHECK(stop_cleanly({&sink}));
  }
  const auto stored_before = p.end_offsets();
  // The sink is down while more arrives, and retention deletes part of it.
  p.produce(4'000, 62, 0.05);
  std::map<std::int32_t, std::int64_t> delete_before;
  std::int64_t gap = 0;
  for (const auto& [partition, end] : p.end_offsets()) {
    const auto from = stored_before.count(partition) ? stored_before.at(partition) : 0;
    delete_before[partition] = from + (end - from) / 2;
    gap += delete_before[partition] - from;
  }
  delete_records(p.env.brokers, p.topic, delete_before);

  // Default policy: each partition halts with a clear error and a metric;
  // nothing moves, nothing is skipped.
  {
    auto sink = p.start_sink("sink-2", {{"MILLRACE_STALL_TIMEOUT_S", "5"}});
    REQUIRE(eventually(
        [&] {
          return metric(sink, "millrace_partition_halted", {{"reason", "offset_gap"}}) ==
                 static_cast<double>(p.partitions);
        },
        seconds(90)));
    CHECK(sink.running());
    // Not ready, each halted partition named with what the log said.
    const auto ready = http_answer(sink.metrics_port, "/readyz");
    CHECK(ready.status == 503);
    CHECK(ready.body.find(R"("check":"partition")") != std::string::npos);
    CHECK(ready.body.find("retention deleted offsets") != std::string::npos);
    // Halted partitions are behind and do not move: a stall, logged and
    // measured, which the stall watchdog leaves alone (it has a reason).
    CHECK(eventually(
        [&] { return log_of(p, "sink-2").find("(halted: offset_gap)") != std::string::npos; },
        seconds(60)));
    CHECK(metric(sink, "millrace_partition_stalled_seconds", {}) >= 5.0 * p.partitions);
    CHECK(log_of(p, "sink-2").find("re-assigning from the stored offsets") == std::string::npos);
    for (const auto& [partition, from] : stored_before) {
      CHECK(sql_int(p.env.pg, "SELECT next_offset FROM \"" + p.schema +
                                  "\".consumer_offsets WHERE group_id = '" + p.group +
                                  "' AND partition = " + std::to_string(partition)) == from);
    }
    CHECK(log_of(p, "sink-2").find("retention deleted offsets") != std::string::npos);
    CHECK(stop_cleanly({&sink}));
  }

  // skip: the ranges are recorded as lost in the fenced transaction, and the
  // rest is consumed exactly once.
  Stopwatch recovery;
  auto sink = p.start_sink("sink-3", {{"MILLRACE_ON_OFFSET_GAP", "skip"}});
  REQUIRE(p.wait_caught_up(seconds(120)));
  const double recovery_s = recovery.seconds();
  const std::string s = "\"" + p.schema + "\"";
  CHECK(sql_int(p.env.pg, "SELECT coalesce(sum(lost), 0) FROM " + s + ".partition_accounting") ==
        gap);
  CHECK(sql_int(p.env.pg, "SELECT coalesce(sum(abs(unaccounted)), 0) FROM " + s +
                              ".partition_accounting") == 0);
  for (const auto& [partition, to] : delete_before) {
    const auto from = stored_before.count(partition) ? stored_before.at(partition) : 0;
    INFO("partition " << partition);
    CHECK(sql_int(p.env.pg, "SELECT count(*) FROM " + s +
                                ".offset_gaps WHERE partition = " + std::to_string(partition) +
                                " AND from_offset = " + std::to_string(from) + " AND to_offset = " +
                                std::to_string(to) + " AND reason = 'retention'") == 1);
  }
  // Every record outside the gaps is stored exactly once: rows are exactly
  // the kept events at offsets nobody deleted unread.
  std::set<std::string> expected_ids;
  std::uint64_t deleted_unread = 0;
  for (const auto& [where, e] : p.expected()) {
    const auto from = stored_before.count(where.first) ? stored_before.at(where.first) : 0;
    const bool in_gap = where.second >= from && where.second < delete_before.at(where.first);
    if (in_gap) ++deleted_unread;
    if (e.kept && !in_gap) expected_ids.insert(e.id);
  }
  CHECK(deleted_unread == static_cast<std::uint64_t>(gap));
  std::set<std::string> stored_ids;
  std::uint64_t duplicated = 0;
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    for (const auto& r : tx.exec("SELECT id::text FROM " + s + ".store_events")) {
      if (!stored_ids.insert(r[0].as<std::string>()).second) ++duplicated;
    }
  }
  CHECK(duplicated == 0);
  CHECK(stored_ids == expected_ids);
  CHECK(metric(sink, "millrace_records_outcome_total", {{"outcome", "lost"}}) ==
        static_cast<double>(gap));
  record_fault(
      {"retention", static_cast<std::uint64_t>(p.end_total()), 0, duplicated, 0, recovery_s});
  CHECK(stop_cleanly({&sink}));

  // A stored offset past the log end (a recreated topic): refused, said why.
  sql(p.env.pg, "UPDATE " + s +
                    ".consumer_offsets SET next_offset = next_offset + 1000 WHERE "
                    "group_id = '" +
                    p.group + "' AND partition = 1");
  auto ahead = p.start_sink("sink-4");
  REQUIRE(eventually(
      [&] {
        return metric(ahead, "millrace_partition_halted", {{"reason", "offset_ahead"}}) == 1;
      },
      seconds(90)));
  CHECK(log_of(p, "sink-4").find("is past the log end") != std::string::npos);
  CHECK(stop_cleanly({&ahead}));
}

TEST_CASE("every way a worker stops ends the process cleanly", "[shutdown-paths]") {
  Pipeline p("ft_shutdown");
  p.produce(20'000, 17, 0.05);

  // SIGTERM mid-run: finishes its batch, commits, exits 0.
  {
    auto sink = p.start_sink("term", kSmallBatches);
    REQUIRE(eventually([&] { return p.stored_total() > 0; }, seconds(60)));
    CHECK(stop_cleanly({&sink}));
  }
  // SIGTERM while PostgreSQL cannot be reached (the worker waits in its
  // start-up retries): exits 0.
  {
    auto sink =
        p.start_sink("term-no-pg", {{"MILLRACE_PG", "postgresql://millrace@127.0.0.1:1/x"}});
    std::this_thread::sleep_for(seconds(3));
    CHECK(sink.running());
    CHECK(stop_cleanly({&sink}));
  }
  // Migrations off and the schema not migrated: the worker waits for them
  // (as a Kubernetes Deployment beside its migrate Job does); SIGTERM
  // meanwhile exits 0.
  {
    auto sink = p.start_sink("term-unmigrated", {{"MILLRACE_PG_SCHEMA", p.schema + "_missing"},
                                                 {"MILLRACE_MIGRATE", "false"}});
    REQUIRE(eventually(
        [&] {
          return log_of(p, "term-unmigrated").find("waiting for `millrace migrate`") !=
                 std::string::npos;
        },
        seconds(60)));
    CHECK(sink.running());
    CHECK(stop_cleanly({&sink}));
  }
  // A fatal error in the loop (its group belongs to another kind, which no
  // waiting cures): exit 1, not a crash.
  {
    const std::string taken = p.group + "_taken";
    sql(p.env.pg, "INSERT INTO \"" + p.schema + "\".consumer_groups (group_id, kind) VALUES ('" +
                      taken + "', 'aggregator')");
    auto sink = p.start_sink("fatal", {{"MILLRACE_SINK_GROUP", taken}});
    const auto status = sink.wait(seconds(120));
    REQUIRE(status.has_value());
    CHECK(*status == 1);
    CHECK(log_of(p, "fatal").find("stopping on fatal error") != std::string::npos);
    CHECK(log_of(p, "fatal").find("belongs to millrace-aggregator") != std::string::npos);
  }
  // A fatal error while partitions are assigned and a batch is in flight:
  // the table the rows go to disappears mid-run.
  {
    auto sink = p.start_sink("fatal-assigned", kSmallBatches);
    REQUIRE(eventually([&] { return p.stored_total() > 0; }, seconds(60)));
    sql(p.env.pg, "DROP TABLE \"" + p.schema + "\".store_events CASCADE");
    const auto status = sink.wait(seconds(120));
    REQUIRE(status.has_value());
    CHECK(*status == 1);
  }
  for (const auto* name : {"term", "term-no-pg", "term-unmigrated", "fatal", "fatal-assigned"}) {
    INFO(name);
    CHECK(log_of(p, name).find("AddressSanitizer") == std::string::npos);
  }
}
