#pragma once

// One end-to-end run of the pipeline against the test stack: its own topic,
// dead-letter topic, schema and consumer group, the real `millrace` CLI and
// `millrace-sink` processes, and an oracle computed from the generator.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/kafka/consumer.hpp"

namespace millrace::testing {

struct ExpectedMessage {
  // Set for a bad message: the reason the generator says it is refused with.
  std::optional<core::RejectReason> bad;
  std::string id;     // set for valid events
  bool kept = false;  // valid, kept type, discount > 20
};

// One record of a topic as a consumer reads it.
struct TopicRecord {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::string value;
  std::optional<std::string> event_type;
  std::optional<std::string> priority_shipping;
  std::map<std::string, std::string> headers;  // the last value of each
  std::optional<std::int64_t> timestamp_ms;
};

// For readers that take whatever partitions the group gives them, each from
// its log start (the consumer never picks a position by itself).
class NoRebalance final : public kafka::RebalanceListener {
 public:
  void on_assign(std::vector<kafka::TopicPartition>& partitions) override {
    for (auto& tp : partitions) tp.offset = kafka::kOffsetBeginning;
  }
  void on_revoke(const std::vector<kafka::TopicPartition>&) override {}
};

struct Verdict {
  std::uint64_t produced = 0;
  std::uint64_t kept = 0;
  std::uint64_t filtered = 0;
  std::uint64_t rejected = 0;
  // What the oracle found wrong (each also fails a CHECK): kept events
  // missing from store_events, rows beyond one per kept event, and records
  // consumed without an outcome.
  std::uint64_t lost = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t unaccounted = 0;
};

class Pipeline {
 public:
  // Its topics get `replication` replicas (3 on the three-broker stack).
  explicit Pipeline(std::string_view prefix, std::int32_t partitions = 4,
                    std::int16_t replication = 1);
  // Against other brokers (librdkafka's mock cluster) whose topics the caller
  // creates; PostgreSQL still comes from the test stack.
  Pipeline(std::string_view prefix, std::string brokers, std::int32_t partitions);
  // Deletes the topics it created: a whole suite's topics left on the shared
  // test broker add up to hundreds of partitions that it keeps serving.
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  StackEnv env;
  std::string topic, dlq_topic, schema, group, log_dir;
  std::int32_t partitions;
  // produce() sends events whose times end here (--base-time), so the
  // same seed sends the very same events again, and the oracle knows
  // their bytes (a bad one may go to the partition its bytes hash to).
  // Made at the start, to the second.
  std::string base_time;

  std::map<std::string, std::string> sink_env() const;
  Child start_sink(const std::string& name, const std::map<std::string, std::string>& extra = {});
  // Any of our services, with this pipeline's settings plus `extra`; with a
  // `prefix`, run through it (e.g. {"ip", "netns", "exec", "ns1"}).
  Child start(const std::string& binary, const std::string& name,
              const std::map<std::string, std::string>& extra = {},
              const std::vector<std::string>& prefix = {});

  // Runs `millrace produce --count ... --seed ... --bad-ratio ...` and records
  // what the generator with the same seed says lands at each (partition, offset).
  void produce(std::int64_t count, std::uint64_t seed, double bad_ratio, double rate = 0);
  // The two halves of produce(), for tests that produce on another thread
  // (Catch2 assertions must stay on the main thread).
  int run_producer(std::int64_t count, std::uint64_t seed, double bad_ratio, double rate,
                   std::string* summary) const;
  void expect(std::int64_t count, std::uint64_t seed, double bad_ratio);
  // The same, placed where the topic holds them: for brokers that may append
  // a retried request twice (librdkafka 2.0.2's mock cluster checks an
  // idempotent producer's sequence numbers only when it is transactional).
  // Checks that the log holds every message in the producer's order, each
  // extra record a copy of one before it; returns how many such copies.
  std::int64_t expect_as_logged(std::int64_t count, std::uint64_t seed, double bad_ratio);
  // Partitions whose assignment a sink worker has recorded in PostgreSQL.
  std::int64_t claimed_partitions();

  // Sum of stored next offsets in PostgreSQL for a group (default: the
  // sink's), and of the topic's end offsets.
  std::int64_t stored_total(const std::string& for_group = {});
  // The sink group's stored next offset per partition (0 when none yet).
  std::map<std::int32_t, std::int64_t> stored_offsets() const;
  std::int64_t end_total();
  // Sum of the topic's high watermarks, from the broker: with nothing else
  // writing to the topic, the exact number of records put there.
  std::int64_t records_in_topic() const;
  // Every record of the topic, with a new consumer group; REQUIREs (Catch2)
  // that `expected` records arrive within two minutes.
  std::vector<TopicRecord> read_topic(std::int64_t expected) const;
  // The same for another topic (a dead-letter topic).
  std::vector<TopicRecord> read_topic(const std::string& name, std::int64_t expected) const;
  // Waits until PostgreSQL's offsets reach the end of every partition.
  bool wait_caught_up(std::chrono::seconds timeout);

  // Asserts (Catch2) every exactly-once invariant and returns the counts.
  Verdict verify();

  // End offset per partition of what produce() sent so far.
  const std::map<std::int32_t, std::int64_t>& end_offsets() const { return next_offset_; }

  const std::map<std::pair<std::int32_t, std::int64_t>, ExpectedMessage>& expected() const {
    return expected_;
  }
  // Kept events expected more than once (a seed produced again): the sink
  // stores the first copy and counts the others as duplicates.
  std::uint64_t expected_duplicates() const { return duplicates_; }

 private:
  // What the generator with a seed sends, in order, and where.
  struct Sent {
    std::int32_t partition = 0;
    std::string payload;
    ExpectedMessage message;
  };
  std::vector<Sent> generated(std::int64_t count, std::uint64_t seed, double bad_ratio) const;
  // Expects `e` at (partition, offset).
  void place(std::int32_t partition, std::int64_t offset, ExpectedMessage e);

  std::set<std::string> kept_ids_;
  std::uint64_t duplicates_ = 0;
  std::map<std::pair<std::int32_t, std::int64_t>, ExpectedMessage> expected_;
  std::map<std::int32_t, std::int64_t> next_offset_;
  bool owns_topics_ = false;
};

// SQL in a pipeline's schema, as the schema's owner (MILLRACE_PG).
struct InSchema {
  const Pipeline& p;

  // The first column of the one row `query` returns ("" for NULL).
  std::string one(const std::string& query) const;
  std::int64_t count(const std::string& query) const { return std::stoll(one(query)); }
  void exec(const std::string& sql) const;
};

}  // namespace millrace::testing
