#include "pipeline.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "millrace/core/failure.hpp"
#include "millrace/core/filter.hpp"
#include "millrace/core/store_message.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/kafka/admin.hpp"
#include "millrace/kafka/consumer.hpp"
#include "millrace/kinds/generator.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/reference/store_event_rules.hpp"
#include "millrace/reference/store_route.hpp"
#include "millrace/test_paths.hpp"

namespace millrace::testing {

using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

std::string now_to_the_second() {
  const auto now =
      std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch());
  return core::format_timestamp(now.count() * 1'000'000);
}

}  // namespace

Pipeline::Pipeline(std::string_view prefix, std::int32_t partition_count, std::int16_t replication)
    : env(stack_env()),
      topic(unique_name(prefix)),
      dlq_topic(topic + ".dlq"),
      schema(topic),
      group(topic + "_sink"),
      log_dir(millrace::test_paths::log_dir()),
      partitions(partition_count),
      base_time(now_to_the_second()) {
  owns_topics_ = true;
  kafka::create_topic(env.brokers, topic, partitions, replication, seconds(30));
  kafka::create_topic(env.brokers, dlq_topic, partitions, replication, seconds(30));
}

Pipeline::~Pipeline() {
  if (!owns_topics_) return;
  try {
    kafka::delete_topics(env.brokers, {topic, dlq_topic}, seconds(10));
  } catch (const core::InfraError& e) {
    // Best effort: a fault test may end with the broker down. The topics
    // then stay, as every test's did before.
    std::cerr << "pipeline " << topic << ": topics left: " << e.what() << "\n";
  }
}

Pipeline::Pipeline(std::string_view prefix, std::string brokers, std::int32_t partition_count)
    : env(stack_env()),
      topic(unique_name(prefix)),
      dlq_topic(topic + ".dlq"),
      schema(topic),
      group(topic + "_sink"),
      log_dir(millrace::test_paths::log_dir()),
      partitions(partition_count),
      base_time(now_to_the_second()) {
  env.brokers = std::move(brokers);
}

std::map<std::string, std::string> Pipeline::sink_env() const {
  return {{"MILLRACE_BROKERS", env.brokers},
          {"MILLRACE_PG", env.pg},
          {"MILLRACE_TOPIC", topic},
          {"MILLRACE_DLQ_TOPIC", dlq_topic},
          {"MILLRACE_PG_SCHEMA", schema},
          {"MILLRACE_SINK_GROUP", group},
          {"MILLRACE_SESSION_TIMEOUT_MS", "6000"},
          {"MILLRACE_BATCH_MS", "100"}};
}

Child Pipeline::start_sink(const std::string& name,
                           const std::map<std::string, std::string>& extra) {
  return start("millrace-sink", name, extra);
}

Child Pipeline::start(const std::string& binary, const std::string& name,
                      const std::map<std::string, std::string>& extra,
                      const std::vector<std::string>& prefix) {
  auto e = sink_env();
  for (const auto& [k, v] : extra) e[k] = v;
  e["MILLRACE_CLIENT_ID"] = name;
  const int port = free_port();
  e["MILLRACE_METRICS_ADDR"] = "127.0.0.1:" + std::to_string(port);
  const std::string log = log_dir + "/" + topic + "." + name + ".log";
  if (!prefix.empty()) {
    std::vector<std::string> args(prefix.begin() + 1, prefix.end());
    args.push_back(bin(binary));
    Child child(prefix.front(), args, e, log);
    child.metrics_port = port;
    return child;
  }
  Child child(bin(binary), {}, e, log);
  child.metrics_port = port;
  return child;
}

int Pipeline::run_producer(std::int64_t count, std::uint64_t seed, double bad_ratio, double rate,
                           std::string* summary) const {
  std::vector<std::string> args = {"produce",
                                   "--count",
                                   std::to_string(count),
                                   "--seed",
                                   std::to_string(seed),
                                   "--bad-ratio",
                                   std::to_string(bad_ratio),
                                   "--rate",
                                   std::to_string(rate)};
  if (!base_time.empty()) {
    args.emplace_back("--base-time");
    args.push_back(base_time);
  }
  return run(bin("millrace"), args, {{"MILLRACE_BROKERS", env.brokers}, {"MILLRACE_TOPIC", topic}},
             summary);
}

void Pipeline::produce(std::int64_t count, std::uint64_t seed, double bad_ratio, double rate) {
  std::string out;
  const int rc = run_producer(count, seed, bad_ratio, rate, &out);
  INFO("millrace produce printed: " << out);
  REQUIRE(rc == 0);
  REQUIRE(out.find("\"total\":" + std::to_string(count) + ",") != std::string::npos);
  REQUIRE(out.find("\"failed_deliveries\":0") != std::string::npos);
  expect(count, seed, bad_ratio);
}

std::vector<Pipeline::Sent> Pipeline::generated(std::int64_t count, std::uint64_t seed,
                                                double bad_ratio) const {
  // The same seed gives the same stream.
  const auto declaration = kinds::find_kind(kinds::kStoreEvent, "");
  kinds::RecordGeneratorOptions g;
  g.seed = seed;
  g.bad_ratio = bad_ratio;
  g.base_ts = core::parse_timestamp(base_time).value();
  kinds::RecordGenerator generator(declaration, g);
  const core::FilterConfig filter;
  core::StoreEvent event;
  std::vector<Sent> out;
  out.reserve(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    auto r = generator.next();
    // Where `millrace produce` sends it.
    const auto route = core::route_store_json(r.payload, partitions, event);
    Sent s;
    s.partition = route.partition;
    s.message.bad = r.expected;
    if (!s.message.bad) {
      REQUIRE(route.valid);
      s.message.id = event.id;
      s.message.kept = !core::apply_filter(event, filter).has_value();
    }
    s.payload = std::move(r.payload);
    out.push_back(std::move(s));
  }
  return out;
}

void Pipeline::place(std::int32_t partition, std::int64_t offset, ExpectedMessage e) {
  // A copy of an event kept before is a duplicate, not a second row.
  if (e.kept && !kept_ids_.insert(e.id).second) {
    e.kept = false;
    ++duplicates_;
  }
  expected_[{partition, offset}] = e;
  next_offset_[partition] = offset + 1;
}

void Pipeline::expect(std::int64_t count, std::uint64_t seed, double bad_ratio) {
  // Per partition the idempotent producer keeps order, so each message's
  // offset is known in advance.
  for (auto& s : generated(count, seed, bad_ratio)) {
    place(s.partition, next_offset_[s.partition], std::move(s.message));
  }
}

std::int64_t Pipeline::expect_as_logged(std::int64_t count, std::uint64_t seed, double bad_ratio) {
  REQUIRE(expected_.empty());
  std::map<std::int32_t, std::vector<Sent>> sent;
  for (auto& s : generated(count, seed, bad_ratio)) sent[s.partition].push_back(std::move(s));
  auto log = read_topic(records_in_topic());
  std::sort(log.begin(), log.end(), [](const TopicRecord& a, const TopicRecord& b) {
    return std::pair(a.partition, a.offset) < std::pair(b.partition, b.offset);
  });
  std::map<std::int32_t, std::size_t> next;  // per partition, the next message not yet logged
  std::int64_t twice = 0;
  for (const auto& r : log) {
    const auto& mine = sent[r.partition];
    auto& i = next[r.partition];
    INFO("partition " << r.partition << " offset " << r.offset);
    if (i < mine.size() && mine[i].payload == r.value) {
      place(r.partition, r.offset, mine[i++].message);
      continue;
    }
    // Not the next one: it must be one the log already holds (a retried
    // request appended again), never one out of order or from elsewhere.
    auto earlier = std::find_if(mine.rbegin() + static_cast<std::ptrdiff_t>(mine.size() - i),
                                mine.rend(), [&](const Sent& s) { return s.payload == r.value; });
    REQUIRE(earlier != mine.rend());
    place(r.partition, r.offset, earlier->message);
    ++twice;
  }
  // Every message the producer sent is in the log.
  for (const auto& [partition, mine] : sent) {
    INFO("partition " << partition);
    CHECK(next[partition] == mine.size());
  }
  return twice;
}

namespace {

// Zero rows until a worker has migrated the schema.
std::int64_t count_offsets(const std::string& pg, const std::string& schema,
                           const std::string& group, const std::string& what) {
  pqxx::connection c(pg);
  pqxx::work tx(c);
  const auto exists = tx.exec_params1(
      "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 "
      "AND table_name = 'consumer_offsets'",
      schema);
  if (exists[0].as<int>() == 0) return 0;
  try {
    return tx
        .exec_params1("SELECT coalesce(" + what + ", 0) FROM " + tx.quote_name(schema) +
                          ".consumer_offsets WHERE group_id = $1",
                      group)[0]
        .as<std::int64_t>();
  } catch (const pqxx::deadlock_detected&) {
    return 0;  // a service is still migrating the tables: nothing stored yet, as far as we know
  }
}

}  // namespace

std::int64_t Pipeline::stored_total(const std::string& for_group) {
  return count_offsets(env.pg, schema, for_group.empty() ? group : for_group, "sum(next_offset)");
}

std::map<std::int32_t, std::int64_t> Pipeline::stored_offsets() const {
  pqxx::connection c(env.pg);
  pqxx::work tx(c);
  std::map<std::int32_t, std::int64_t> out;
  for (const auto& r :
       tx.exec_params("SELECT partition, coalesce(next_offset, 0) FROM " + tx.quote_name(schema) +
                          ".consumer_offsets WHERE group_id = $1",
                      group)) {
    out[r[0].as<std::int32_t>()] = r[1].as<std::int64_t>();
  }
  return out;
}

std::int64_t Pipeline::claimed_partitions() {
  return count_offsets(env.pg, schema, group, "count(*)");
}

std::int64_t Pipeline::end_total() {
  std::int64_t total = 0;
  for (const auto& [p, n] : next_offset_) total += n;
  return total;
}

bool Pipeline::wait_caught_up(seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (stored_total() == end_total()) return true;
    std::this_thread::sleep_for(milliseconds(250));
  }
  return false;
}

namespace {

// A consumer group of its own, so a reader starts at the beginning.
kafka::ConsumerConfig reader_config(const std::string& brokers, std::string_view prefix) {
  kafka::ConsumerConfig cc;
  cc.brokers = brokers;
  cc.group_id = unique_name(prefix);
  return cc;
}

}  // namespace

std::int64_t Pipeline::records_in_topic() const {
  kafka::OffsetsClient offsets(env.brokers, {});
  std::int64_t total = 0;
  for (std::int32_t part = 0; part < partitions; ++part) {
    total += offsets.watermarks(topic, part, seconds(10)).second;
  }
  return total;
}

std::vector<TopicRecord> Pipeline::read_topic(std::int64_t expected) const {
  return read_topic(topic, expected);
}

std::vector<TopicRecord> Pipeline::read_topic(const std::string& name,
                                              std::int64_t expected) const {
  NoRebalance listener;
  kafka::Consumer reader(reader_config(env.brokers, "topic_reader"), &listener);
  reader.subscribe({name});
  std::vector<TopicRecord> out;
  const auto until = std::chrono::steady_clock::now() + seconds(120);
  while (static_cast<std::int64_t>(out.size()) < expected &&
         std::chrono::steady_clock::now() < until) {
    auto msg = reader.poll(milliseconds(200));
    if (!msg) continue;
    TopicRecord r;
    r.partition = msg->partition();
    r.offset = msg->offset();
    r.key = std::string(msg->key().value_or(""));
    r.value = std::string(msg->payload());
    if (auto h = msg->header("event_type")) r.event_type = std::string(*h);
    if (auto h = msg->header("priority_shipping")) r.priority_shipping = std::string(*h);
    for (const auto& [k, v] : msg->headers()) r.headers[std::string(k)] = std::string(v);
    r.timestamp_ms = msg->timestamp_ms();
    out.push_back(std::move(r));
  }
  reader.close();
  REQUIRE(static_cast<std::int64_t>(out.size()) == expected);
  return out;
}

Verdict Pipeline::verify() {
  Verdict v;
  std::set<std::string> expected_kept;
  std::uint64_t expected_bad = 0;
  for (const auto& [where, e] : expected_) {
    ++v.produced;
    if (e.bad) {
      ++expected_bad;
    } else if (e.kept) {
      expected_kept.insert(e.id);
    }
  }

  pqxx::connection c(env.pg);
  pqxx::work tx(c);
  const std::string s = tx.quote_name(schema);

  // 1. Rows: exactly the valid events with discount > 20, each once, each
  //    with the Kafka coordinates the oracle predicts.
  const auto rows =
      tx.exec("SELECT id::text, kafka_partition, kafka_offset FROM " + s + ".store_events");
  std::set<std::string> stored_ids;
  for (const auto& r : rows) {
    const std::string id = r[0].as<std::string>();
    const auto where = std::make_pair(r[1].as<std::int32_t>(), r[2].as<std::int64_t>());
    INFO("row " << id << " at " << where.first << "/" << where.second);
    const auto it = expected_.find(where);
    REQUIRE(it != expected_.end());
    CHECK(it->second.id == id);
    CHECK(it->second.kept);
    const bool first = stored_ids.insert(id).second;
    CHECK(first);
    if (!first) ++v.duplicated;
  }
  CHECK(rows.size() == expected_kept.size());
  CHECK(stored_ids == expected_kept);
  v.kept = rows.size();
  for (const auto& id : expected_kept) {
    if (!stored_ids.contains(id)) ++v.lost;
  }

  // 2. Offsets: PostgreSQL's stored offsets are the partitions' end offsets.
  for (std::int32_t p = 0; p < partitions; ++p) {
    const auto r = tx.exec_params("SELECT next_offset FROM " + s +
                                      ".consumer_offsets WHERE group_id = $1 AND topic = $2 "
                                      "AND partition = $3",
                                  group, topic, p);
    const std::int64_t end = next_offset_.count(p) ? next_offset_.at(p) : 0;
    INFO("partition " << p);
    if (end == 0) {
      CHECK((r.empty() || r[0][0].is_null()));
    } else {
      REQUIRE(r.size() == 1);
      CHECK(r[0][0].as<std::int64_t>() == end);
    }
  }

  // 3. Accounting: consumed = persisted + filtered + rejected (+ duplicates)
  //    per partition, and the totals match the oracle.
  const auto acc = tx.exec_params(
      "SELECT partition, consumed, persisted, filtered, rejected, "
      "duplicate, late, unaccounted FROM " +
          s + ".partition_accounting WHERE group_id = $1",
      group);
  std::uint64_t consumed = 0, persisted = 0, filtered = 0, rejected = 0, duplicates = 0;
  for (const auto& r : acc) {
    INFO("accounting for partition " << r[0].as<int>());
    CHECK(r[7].as<std::int64_t>() == 0);
    v.unaccounted += static_cast<std::uint64_t>(std::abs(r[7].as<std::int64_t>()));
    duplicates += r[5].as<std::uint64_t>();
    consumed += r[1].as<std::uint64_t>();
    persisted += r[2].as<std::uint64_t>();
    filtered += r[3].as<std::uint64_t>();
    rejected += r[4].as<std::uint64_t>();
  }
  CHECK(duplicates == duplicates_);  // 0 unless a seed was produced again
  CHECK(consumed == v.produced);
  CHECK(persisted == expected_kept.size());
  CHECK(rejected == expected_bad);
  CHECK(filtered == v.produced - expected_bad - expected_kept.size() - duplicates_);
  v.filtered = filtered;
  v.rejected = rejected;
  tx.commit();

  // 4. Dead letters: every bad message, with the reason the oracle expects
  //    and its source coordinates; no valid message among them. The topic is
  //    at-least-once (a retried batch may repeat one), so count distinct sources.
  NoRebalance listener;
  kafka::Consumer reader(reader_config(env.brokers, "dlq_reader"), &listener);
  reader.subscribe({dlq_topic});
  std::set<std::pair<std::int32_t, std::int64_t>> sources;
  const auto until = std::chrono::steady_clock::now() + seconds(60);
  while (sources.size() < expected_bad && std::chrono::steady_clock::now() < until) {
    auto msg = reader.poll(milliseconds(200));
    if (!msg) continue;
    const auto partition = msg->header("millrace.source.partition");
    const auto offset = msg->header("millrace.source.offset");
    const auto reason = msg->header("millrace.reason");
    REQUIRE(partition.has_value());
    REQUIRE(offset.has_value());
    REQUIRE(reason.has_value());
    CHECK(msg->header("millrace.source.topic") == std::optional<std::string_view>(topic));
    const auto where =
        std::make_pair(std::stoi(std::string(*partition)), std::stoll(std::string(*offset)));
    const auto it = expected_.find(where);
    REQUIRE(it != expected_.end());
    INFO("dead letter from " << where.first << "/" << where.second << " reason " << *reason);
    REQUIRE(it->second.bad.has_value());
    CHECK(*reason == core::reason_code(*it->second.bad));
    sources.insert(where);
  }
  reader.close();
  // The first few bad messages without a letter, to find in the logs.
  std::string missing;
  int named = 0;
  for (const auto& [where, message] : expected_) {
    if (!message.bad || sources.count(where) != 0) continue;
    if (++named > 10) break;
    missing += " " + std::to_string(where.first) + "/" + std::to_string(where.second);
  }
  INFO("bad messages without a dead letter (partition/offset):" << missing);
  CHECK(sources.size() == expected_bad);
  return v;
}

std::string InSchema::one(const std::string& query) const {
  pqxx::connection c(p.env.pg);
  pqxx::work tx(c);
  tx.exec("SET LOCAL search_path TO " + tx.quote_name(p.schema));
  const auto r = tx.exec1(query);
  return r[0].is_null() ? "" : r[0].as<std::string>();
}

void InSchema::exec(const std::string& sql) const {
  pqxx::connection c(p.env.pg);
  pqxx::work tx(c);
  tx.exec("SET LOCAL search_path TO " + tx.quote_name(p.schema));
  tx.exec(sql);
  tx.commit();
}

}  // namespace millrace::testing
