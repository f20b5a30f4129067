// The stream loop's exactly-once machinery without a broker or a database:
// fakes behind its ports (fakes.hpp) script rebalances, failed and fenced
// commits, and the test checks what the fake database ends up holding.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "fakes.hpp"
#include "loop_rig.hpp"
#include "millrace/stream/consumer.hpp"

using namespace millrace;
using namespace millrace::stream;
using namespace millrace::stream::testing;
using namespace std::chrono_literals;

namespace {

bool caught_up(FakeDatabase& db, FakeCluster& cluster, std::vector<std::int32_t> partitions) {
  for (const auto p : partitions) {
    if (db.stored(p) != cluster.end(p)) return false;
  }
  return true;
}

// Every record of the partitions stored exactly once, nothing else.
void check_exactly_once(FakeDatabase& db, FakeCluster& cluster,
                        std::vector<std::int32_t> partitions) {
  const auto stored = db.stored_records();
  std::size_t expected = 0;
  for (const auto p : partitions) {
    for (std::int64_t o = 0; o < cluster.end(p); ++o) {
      INFO("partition " << p << " offset " << o);
      const auto it = stored.find({p, o});
      REQUIRE(it != stored.end());
      CHECK(it->second == 1);
      ++expected;
    }
  }
  CHECK(stored.size() == expected);
}

// One member consumes partitions 0 and 1 to their end, in batches of 50,
// and stops; every record must then be stored exactly once.
StreamStats consume_all(FakeCluster& cluster, FakeDatabase& db, Handler* given = nullptr) {
  RecordsHandler records;
  Handler& handler = given != nullptr ? *given : records;
  metrics::Registry registry("test");
  TransactionalConsumer consumer(config(50, 10), handler, "test", registry, ports(cluster, 1, db));
  cluster.assign(1, {0, 1});
  consumer.start();
  REQUIRE(within(30s, [&] { return caught_up(db, cluster, {0, 1}); }));
  consumer.stop();
  consumer.rethrow_failure();
  check_exactly_once(db, cluster, {0, 1});
  return consumer.stats();
}

}  // namespace

TEST_CASE("a failed commit is replayed from the stored offsets: each record stored once",
          "[loop]") {
  FakeCluster cluster({{0, 700}, {1, 700}});
  FakeDatabase db;
  db.fail_commits(2);
  const auto stats = consume_all(cluster, db);
  CHECK(stats.db_errors >= 2);
  CHECK(stats.consumed >= 1400);  // the failed batches were consumed again
}

TEST_CASE("a commit fenced by another member stores nothing, the member resumes where it stored",
          "[loop]") {
  FakeCluster cluster({{0, 600}, {1, 600}});
  FakeDatabase db;
  // Before the third commit, another member (a zombie's successor) stores
  // partition 0 up to 400, with its records.
  db.move_offset_before_commit(3, 0, 400);
  CHECK(consume_all(cluster, db).fenced == 1);
}

TEST_CASE("a revoke mid-batch commits what was read, and the next owner starts there", "[loop]") {
  FakeCluster cluster({{0, 2'000'000}, {1, 2'000'000}});
  FakeDatabase db;
  RecordsHandler handler;
  metrics::Registry registry_a("a");
  metrics::Registry registry_b("b");
  // Batches close on size only, so a revoke finds one part-read.
  TransactionalConsumer a(config(300, 600'000), handler, "a", registry_a, ports(cluster, 1, db));
  TransactionalConsumer b(config(300, 600'000), handler, "b", registry_b, ports(cluster, 2, db));
  cluster.assign(1, {0, 1});
  a.start();
  b.start();
  REQUIRE(within(30s, [&] { return db.stored(0).value_or(0) >= 300; }));
  // B joins: A keeps partition 0, B takes partition 1. As in Kafka's eager
  // protocol, B is assigned only once A has revoked.
  cluster.assign(1, {0});
  REQUIRE(within(30s, [&] { return a.stats().rebalances >= 3; }));
  cluster.assign(2, {1});
  REQUIRE(within(30s, [&] { return db.stored(1) > cluster.revoked_next(1, 1); }));
  a.stop();
  b.stop();
  a.rethrow_failure();
  b.rethrow_failure();
  // A committed all it had read of partition 1 when it was revoked, so B
  // read on from there, not from an older stored offset.
  const auto a_stopped = cluster.revoked_next(1, 1);
  REQUIRE(a_stopped.has_value());
  CHECK(cluster.first_read(2, 1).value_or(-1) == *a_stopped);
  // And everything read by either is stored once.
  const auto stored = db.stored_records();
  std::size_t read = 0;
  for (const std::int32_t p : {0, 1}) {
    const auto end = cluster.read_end(p);
    CHECK(db.stored(p) == end);
    for (std::int64_t o = 0; o < end; ++o) CHECK(stored.count({p, o}) == 1);
    read += static_cast<std::size_t>(end);
  }
  CHECK(stored.size() == read);
}

TEST_CASE("stop() commits the batch in flight and the one accumulated", "[loop]") {
  FakeCluster cluster(std::map<std::int32_t, std::int64_t>{{0, 10'000'000}});
  FakeDatabase db;
  RecordsHandler handler;
  metrics::Registry registry("test");
  TransactionalConsumer consumer(config(1000, 600'000), handler, "test", registry,
                                 ports(cluster, 1, db));
  cluster.assign(1, {0});
  consumer.start();
  REQUIRE(within(30s, [&] { return consumer.stats().consumed >= 1; }));
  consumer.stop();  // part-way: batches of 1,000 close on size, the last at stop
  consumer.rethrow_failure();
  // Everything read was committed, whatever was in flight or accumulating.
  const auto consumed = cluster.read_end(0);
  CHECK(consumed > 0);
  CHECK(consumed < cluster.end(0));
  CHECK(db.stored(0) == consumed);
  const auto stored = db.stored_records();
  CHECK(stored.size() == static_cast<std::size_t>(consumed));
  for (std::int64_t o = 0; o < consumed; ++o) CHECK(stored.count({0, o}) == 1);
}

namespace {

// Seals its batches itself, every `every` records, as the archiver does on
// its time windows, and records what after_commit() and caught_up() saw.
class SealingHandler final : public Handler, public SealsBatches {
 public:
  explicit SealingHandler(std::size_t every) : every_(every) {}
  std::unique_ptr<BatchState> open_batch() override { return std::make_unique<RecordsState>(); }
  std::optional<std::chrono::milliseconds> seal_in(
      const BatchState& state, std::chrono::steady_clock::time_point) const override {
    return static_cast<const RecordsState&>(state).records.size() >= every_
               ? std::chrono::milliseconds(0)
               : std::chrono::milliseconds(3'600'000);
  }
  void handle(const kafka::Message& message, PartitionProgress& progress,
              BatchState& state) override {
    progress.tally.count(core::Outcome::kPersisted, "");
    auto& records = static_cast<RecordsState&>(state).records;
    if (records.size() >= every_) overfull = true;  // handled past its seal
    records.push_back({message.partition(), message.offset()});
  }
  void caught_up(BatchState& state) override {
    std::lock_guard lock(mutex);
    caught_up_with.insert(static_cast<const RecordsState&>(state).records.size());
  }
  void write(pqxx::work&, Batch&, BatchState&) override {}
  void refuse(Batch&, BatchState&, const std::vector<Refusal>&) override {}
  void after_commit(const Batch& batch, BatchState& state) override {
    std::lock_guard lock(mutex);
    committed_sizes.push_back(static_cast<const RecordsState&>(state).records.size());
    committed_consumed += batch.consumed();
  }

  std::mutex mutex;
  std::set<std::size_t> caught_up_with;  // the batch's records, each time
  std::vector<std::size_t> committed_sizes;
  std::uint64_t committed_consumed = 0;
  bool overfull = false;

 private:
  std::size_t every_;
};

}  // namespace

TEST_CASE("a handler that seals its own batches overrides batch_size and batch_ms", "[loop]") {
  // 1,000 records on one partition, sealed every 70 by the handler; the
  // consumer's own limits (5 records, 1 ms) would seal far more often.
  FakeCluster cluster(std::map<std::int32_t, std::int64_t>{{0, 1000}});
  FakeDatabase db;
  SealingHandler handler(70);
  metrics::Registry registry("test");
  TransactionalConsumer consumer(config(5, 1), handler, "test", registry, ports(cluster, 1, db));
  cluster.assign(1, {0});
  consumer.start();
  // 14 full batches commit; the last 20 records wait for a seal that only
  // stop() brings.
  REQUIRE(within(30s, [&] { return db.stored(0) == std::optional<std::int64_t>(980); }));
  std::this_thread::sleep_for(50ms);
  CHECK(db.stored(0) == std::optional<std::int64_t>(980));
  // Told, while those 20 wait, that there is nothing more at hand; never
  // of an empty batch.
  REQUIRE(within(30s, [&] {
    std::lock_guard lock(handler.mutex);
    return handler.caught_up_with.contains(20);
  }));
  {
    std::lock_guard lock(handler.mutex);
    CHECK_FALSE(handler.caught_up_with.contains(0));
  }
  consumer.stop();
  consumer.rethrow_failure();
  CHECK(db.stored(0) == std::optional<std::int64_t>(1000));
  check_exactly_once(db, cluster, {0});
  CHECK_FALSE(handler.overfull);
  std::lock_guard lock(handler.mutex);
  // after_commit() saw every committed batch, in order, and only those.
  REQUIRE(handler.committed_sizes.size() == 15);
  for (std::size_t i = 0; i < 14; ++i) CHECK(handler.committed_sizes[i] == 70);
  CHECK(handler.committed_sizes.back() == 20);
  CHECK(handler.committed_consumed == 1000);
}

TEST_CASE("batch limits a SIGHUP set apply from the next batch", "[loop]") {
  // Batches of 50 (a minute's batch time never comes), then of 20 once the
  // reloaded limits say so; the settings' copy of the config shares them.
  FakeCluster cluster(std::map<std::int32_t, std::int64_t>{{0, 100}});
  FakeDatabase db;
  RecordsHandler handler;
  metrics::Registry registry("test");
  StreamConfig settings = config(50, 60'000);
  TransactionalConsumer consumer(settings, handler, "test", registry, ports(cluster, 1, db));
  cluster.assign(1, {0});
  consumer.start();
  REQUIRE(within(30s, [&] { return db.stored(0) == std::optional<std::int64_t>(100); }));
  settings.reloaded_limits.set({20, 60'000});
  cluster.append(0, 100);
  REQUIRE(within(30s, [&] { return db.stored(0) == std::optional<std::int64_t>(200); }));
  consumer.stop();
  consumer.rethrow_failure();
  check_exactly_once(db, cluster, {0});
  std::lock_guard lock(handler.mutex);
  CHECK(handler.committed_sizes == std::vector<std::uint64_t>{50, 50, 20, 20, 20, 20, 20});
}

TEST_CASE("with close_when_idle a batch is sealed when nothing more is at hand, not at batch_ms",
          "[loop]") {
  // A backlog still makes full batches; the rest, and a lone record later,
  // are committed at once, long before a minute's batch time.
  FakeCluster cluster(std::map<std::int32_t, std::int64_t>{{0, 1000}});
  FakeDatabase db;
  RecordsHandler handler;
  metrics::Registry registry("test");
  StreamConfig settings = config(300, 60'000);
  settings.close_when_idle = true;
  TransactionalConsumer consumer(settings, handler, "test", registry, ports(cluster, 1, db));
  cluster.assign(1, {0});
  consumer.start();
  REQUIRE(within(30s, [&] { return db.stored(0) == std::optional<std::int64_t>(1000); }));
  cluster.append(0, 1);
  REQUIRE(within(30s, [&] { return db.stored(0) == std::optional<std::int64_t>(1001); }));
  consumer.stop();
  consumer.rethrow_failure();
  check_exactly_once(db, cluster, {0});
  std::lock_guard lock(handler.mutex);
  CHECK(handler.committed_sizes == std::vector<std::uint64_t>{300, 300, 300, 100, 1});
}

TEST_CASE("each commit, committed or failed, wakes the loop's poll as it finishes", "[loop]") {
  // The loop collects a finished commit between polls: without the wake, a
  // record behind the commit would wait out the poll's timeout too.
  FakeCluster cluster({{0, 700}, {1, 700}});
  FakeDatabase db;
  db.fail_commits(1);
  const auto stats = consume_all(cluster, db);
  CHECK(stats.db_errors == 1);
  CHECK(cluster.wakes(1) == static_cast<int>(stats.batches + stats.db_errors));
}

TEST_CASE("after_commit() is not called for a commit that failed", "[loop]") {
  FakeCluster cluster(std::map<std::int32_t, std::int64_t>{{0, 300}});
  FakeDatabase db;
  db.fail_commits(2);
  SealingHandler handler(100);
  metrics::Registry registry("test");
  TransactionalConsumer consumer(config(5, 1), handler, "test", registry, ports(cluster, 1, db));
  cluster.assign(1, {0});
  consumer.start();
  REQUIRE(within(30s, [&] { return db.stored(0) == std::optional<std::int64_t>(300); }));
  consumer.stop();
  consumer.rethrow_failure();
  check_exactly_once(db, cluster, {0});
  std::lock_guard lock(handler.mutex);
  CHECK(handler.committed_sizes == std::vector<std::size_t>{100, 100, 100});
}

namespace {

// Checks what read_to() and idle() promise: every record below a partition's
// read_to is committed (in the batch that carries it, or before), and the
// batch holds nothing at or past it.
class ReadToHandler final : public Handler, public SealsBatches, public WatchesReads {
 public:
  std::mutex mutex;
  std::map<std::int32_t, std::int64_t> committed_end;  // highest committed offset + 1
  std::map<std::int32_t, std::int64_t> last_idle;
  int batches_with_read_to = 0, idles = 0, broken = 0;

  // Seals a batch of 7 records on the second time it is asked, which is
  // after the loop polled the next record: the case where read_to() must
  // stop before a record the consumer has returned but the batch lacks.
  struct State final : BatchState {
    std::vector<RecordRef> records;
    mutable int asked_full = 0;
    void discard(std::int32_t partition) override {
      std::erase_if(records, [&](const RecordRef& r) { return r.partition == partition; });
    }
    std::size_t size() const override { return records.size(); }
    RecordRef record(std::size_t i) const override { return records[i]; }
    std::unique_ptr<BatchState> slice(std::size_t, std::size_t) const override {
      throw std::logic_error("not isolated here");
    }
  };
  std::optional<std::chrono::milliseconds> seal_in(
      const BatchState& state, std::chrono::steady_clock::time_point) const override {
    const auto& s = static_cast<const State&>(state);
    if (s.records.size() < 7) return 1h;
    return s.asked_full++ == 0 ? 1ms : 0ms;
  }
  std::unique_ptr<BatchState> open_batch() override { return std::make_unique<State>(); }
  void handle(const kafka::Message& message, PartitionProgress& progress,
              BatchState& state) override {
    progress.tally.count(core::Outcome::kPersisted, "");
    static_cast<State&>(state).records.push_back({message.partition(), message.offset()});
  }
  void write(pqxx::work&, Batch&, BatchState&) override {}
  void refuse(Batch&, BatchState&, const std::vector<Refusal>&) override {}
  void after_commit(const Batch& batch, BatchState& state) override {
    std::lock_guard lock(mutex);
    for (const auto& r : static_cast<State&>(state).records) {
      auto& end = committed_end[r.partition];
      end = std::max(end, r.offset + 1);
    }
    if (!batch.read_to().empty()) ++batches_with_read_to;
    // Records are contiguous per partition here, so "all below committed"
    // is read_to <= the committed end, and "nothing past it" is >=.
    for (const auto& [p, to] : batch.read_to()) {
      if (to != committed_end[p]) ++broken;
    }
  }
  void idle(const std::map<std::int32_t, std::int64_t>& read_to) override {
    std::lock_guard lock(mutex);
    ++idles;
    for (const auto& [p, to] : read_to) {
      if (to > committed_end[p]) ++broken;
    }
    last_idle = read_to;
  }
};

}  // namespace

TEST_CASE("read_to() stops at what the batch holds, idle() reports only what is committed",
          "[loop]") {
  // Partition 1 holds nothing: it is read to its end all the same.
  FakeCluster cluster(std::map<std::int32_t, std::int64_t>{{0, 2002}, {1, 0}});
  FakeDatabase db;
  ReadToHandler handler;
  metrics::Registry registry("test");
  TransactionalConsumer consumer(config(1000, 60000), handler, "test", registry,
                                 ports(cluster, 1, db));
  cluster.assign(1, {0, 1});
  consumer.start();
  // 2,002 records: 286 batches of 7.
  REQUIRE(within(30s, [&] { return db.stored(0) == std::optional<std::int64_t>(2002); }));
  REQUIRE(within(10s, [&] {
    std::lock_guard lock(handler.mutex);
    return handler.last_idle == std::map<std::int32_t, std::int64_t>{{0, 2002}, {1, 0}};
  }));
  consumer.stop();
  consumer.rethrow_failure();
  std::lock_guard lock(handler.mutex);
  CHECK(handler.broken == 0);
  CHECK(handler.batches_with_read_to > 1);
  CHECK(handler.idles > 0);
}

// A retryable failure in handle() drops the batch, which is read again from
// the stored offsets: each record is stored once, and the member runs on.
TEST_CASE("a retryable failure in handle() is retried from the stored offsets", "[loop]") {
  // What the archiver's handler throws when a file it uploads mid-batch
  // finds the store down: retryable, not the end of the member.
  class Flaky final : public Handler {
   public:
    std::unique_ptr<BatchState> open_batch() override { return inner.open_batch(); }
    void handle(const kafka::Message& m, PartitionProgress& progress, BatchState& state) override {
      if (m.offset() % 250 == 249 && failures < 3) {
        ++failures;
        throw core::InfraError(core::FailureClass::kRetryable, "the store did not answer");
      }
      inner.handle(m, progress, state);
    }
    void write(pqxx::work& tx, Batch& b, BatchState& s) override { inner.write(tx, b, s); }
    void refuse(Batch& b, BatchState& s, const std::vector<Refusal>& r) override {
      inner.refuse(b, s, r);
    }
    RecordsHandler inner;
    int failures = 0;
  } handler;
  FakeCluster cluster({{0, 700}, {1, 700}});
  FakeDatabase db;
  const auto stats = consume_all(cluster, db, &handler);
  CHECK(handler.failures == 3);
  CHECK(stats.db_errors >= 3);
}
