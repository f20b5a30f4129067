// The sink's handler inside the stream loop, on the loop's fakes
// (libs/stream/tests/fakes.hpp): a partition revoked while a batch is
// part-read. The fake topic's records are not events ("record N"), so each
// is dead-lettered; the fake database keeps the tallies of each batch it
// commits, fenced on the stored offsets as PostgreSQL does.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "fakes.hpp"
#include "handler.hpp"
#include "millrace/stream/consumer.hpp"

namespace {

using namespace millrace;
using namespace std::chrono_literals;
using stream::testing::FakeCluster;
using stream::testing::FakeConsumer;
using stream::testing::within;

// Letters from the loop thread, awaits from the commit thread.
class SharedLetters final : public sink::detail::LetterPort {
 public:
  void start() override {}
  void flush() override {}
  void send(const sink::detail::LetterSource& s, const sink::detail::LetterReasons&,
            const sink::detail::TrackerRef& tracker) override {
    std::lock_guard lock(mutex_);
    sent_[{s.partition, s.offset}].insert(tracker.get());
  }
  void await(const sink::detail::TrackerRef& tracker) override {
    std::lock_guard lock(mutex_);
    awaited_.insert(tracker.get());
  }
  // Whether a letter of this record was sent with a batch that awaited it.
  bool durable(std::int32_t partition, std::int64_t offset) {
    std::lock_guard lock(mutex_);
    const auto it = sent_.find({partition, offset});
    if (it == sent_.end()) return false;
    for (const auto* tracker : it->second) {
      if (awaited_.contains(tracker)) return true;
    }
    return false;
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<std::int32_t, std::int64_t>, std::set<const void*>> sent_;
  std::set<const void*> awaited_;
};

class NoPartitions final : public sink::detail::PartitionPort {
 public:
  const sink::detail::StoreRules& rules() const override { return rules_; }
  void ensure_for(const std::vector<std::int64_t>&) override {}
  std::optional<std::int64_t> cutoff_us() const override { return std::nullopt; }

 private:
  sink::detail::StoreRules rules_;
};

// consumer_offsets and record_outcomes: each commit fenced on the stored
// offsets, its tallies summed per partition and outcome.
class TallyDatabase {
 public:
  std::map<std::int32_t, std::optional<std::int64_t>> claim(
      const std::vector<std::int32_t>& partitions) {
    std::lock_guard lock(mutex_);
    std::map<std::int32_t, std::optional<std::int64_t>> out;
    for (const auto p : partitions) out[p] = stored_.try_emplace(p, std::nullopt).first->second;
    return out;
  }
  stream::detail::CommitResult commit(const stream::Batch& batch,
                                      const std::vector<stream::OffsetTransition>& plan) {
    std::lock_guard lock(mutex_);
    stream::detail::CommitResult result;
    for (const auto& t : plan) {
      if (stored_[t.partition] != t.expected) result.fenced.push_back(t.partition);
    }
    if (!result.fenced.empty()) return result;
    for (const auto& t : plan) stored_[t.partition] = t.next;
    for (const auto& [partition, progress] : batch.partitions()) {
      for (const auto& [key, n] : progress.tally.counts()) outcomes_[{partition, key}] += n;
    }
    return result;
  }
  std::optional<std::int64_t> stored(std::int32_t partition) {
    std::lock_guard lock(mutex_);
    return stored_[partition];
  }
  std::uint64_t outcomes(std::int32_t partition, stream::OutcomeKey key) {
    std::lock_guard lock(mutex_);
    return outcomes_[{partition, key}];
  }
  std::uint64_t all_outcomes(std::int32_t partition) {
    std::lock_guard lock(mutex_);
    std::uint64_t n = 0;
    for (const auto& [k, v] : outcomes_) {
      if (k.first == partition) n += v;
    }
    return n;
  }

 private:
  std::mutex mutex_;
  std::map<std::int32_t, std::optional<std::int64_t>> stored_;
  std::map<std::pair<std::int32_t, stream::OutcomeKey>, std::uint64_t> outcomes_;
};

// A member's session of the one database.
class SharedCommitter final : public stream::detail::CommitPort {
 public:
  explicit SharedCommitter(TallyDatabase& db) : db_(db) {}
  bool prepare_schema(const std::function<bool(std::chrono::milliseconds)>&) override {
    return true;
  }
  void ensure_connected() override {}
  void disconnect() override {}
  void register_group(const std::string&) override {}
  std::map<std::int32_t, std::optional<std::int64_t>> claim(
      const std::vector<std::int32_t>& partitions) override {
    return db_.claim(partitions);
  }
  stream::detail::CommitResult commit(stream::Batch& batch, stream::BatchState&,
                                      const std::vector<stream::OffsetTransition>& plan) override {
    return db_.commit(batch, plan);
  }
  // No partition here has a gap.
  bool record_gap(std::int32_t, std::int64_t, std::int64_t) override { return false; }

 private:
  TallyDatabase& db_;
};

// One sink group member: its handler with the shared letters, on the fakes.
struct Member {
  Member(FakeCluster& cluster, int id, TallyDatabase& db, SharedLetters& letters)
      : handler(config, nullptr, partitions, std::make_unique<Forward>(letters), registry, nullptr),
        consumer(config.stream, handler, "sink", registry, ports(cluster, id, db)) {}

  // The member's LetterPort, owned by its handler, sending to the shared one.
  struct Forward final : sink::detail::LetterPort {
    explicit Forward(SharedLetters& to) : to_(to) {}
    void start() override {}
    void flush() override {}
    void send(const sink::detail::LetterSource& s, const sink::detail::LetterReasons& why,
              const sink::detail::TrackerRef& tracker) override {
      to_.send(s, why, tracker);
    }
    void await(const sink::detail::TrackerRef& tracker) override { to_.await(tracker); }
    SharedLetters& to_;
  };

  static stream::detail::Ports ports(FakeCluster& cluster, int id, TallyDatabase& db) {
    stream::detail::Ports p;
    p.consumer = [&cluster, id](kafka::RebalanceListener* listener) {
      return std::make_unique<FakeConsumer>(cluster, id, listener);
    };
    p.committer = std::make_unique<SharedCommitter>(db);
    p.lag = false;  // the probe's lag thread would look for real brokers
    return p;
  }

  sink::SinkConfig config = [] {
    sink::SinkConfig c;
    c.stream.kafka.topic = stream::testing::kTopic;
    c.stream.group = "g";
    c.stream.migrate = false;
    // Batches close on size only, so a revoke finds one part-read.
    c.stream.batch_size = 300;
    c.stream.batch_ms = 600'000;
    c.stream.retry.first_ms = 5;
    c.stream.retry.max_ms = 20;
    return c;
  }();
  metrics::Registry registry{"test"};
  NoPartitions partitions;
  sink::detail::SinkHandler handler;
  stream::TransactionalConsumer consumer;
};

}  // namespace

TEST_CASE("sink handler in the loop: a revoke mid-batch counts each record once, its letter sent",
          "[handler][loop]") {
  FakeCluster cluster({{0, 5'000}, {1, 5'000}});
  TallyDatabase db;
  SharedLetters letters;
  Member a(cluster, 1, db, letters);
  Member b(cluster, 2, db, letters);
  cluster.assign(1, {0, 1});
  a.consumer.start();
  b.consumer.start();
  REQUIRE(within(30s, [&] { return db.stored(0).value_or(0) >= 300; }));
  // B joins: A keeps partition 0, B takes partition 1 once A has revoked it.
  cluster.assign(1, {0});
  REQUIRE(within(30s, [&] { return a.consumer.stats().rebalances >= 3; }));
  cluster.assign(2, {1});
  // Read to the end; stop() commits the batches still accumulating.
  REQUIRE(within(30s, [&] {
    return cluster.read_end(0) == cluster.end(0) && cluster.read_end(1) == cluster.end(1);
  }));
  a.consumer.stop();
  b.consumer.stop();
  a.consumer.rethrow_failure();
  b.consumer.rethrow_failure();
  // A committed what it had read of partition 1 at the revoke; B read on
  // from there.
  const auto a_stopped = cluster.revoked_next(1, 1);
  REQUIRE(a_stopped.value_or(0) > 0);
  CHECK(cluster.first_read(2, 1) == a_stopped);
  CHECK(db.stored(0) == cluster.end(0));
  CHECK(db.stored(1) == cluster.end(1));
  for (const std::int32_t p : {0, 1}) {
    INFO("partition " << p);
    CHECK(db.all_outcomes(p) == static_cast<std::uint64_t>(cluster.end(p)));
    CHECK(db.outcomes(p, {core::Outcome::kRejected, "invalid_json"}) ==
          static_cast<std::uint64_t>(cluster.end(p)));
    std::int64_t missing = 0;
    for (std::int64_t o = 0; o < cluster.end(p); ++o) missing += letters.durable(p, o) ? 0 : 1;
    CHECK(missing == 0);
  }
}
