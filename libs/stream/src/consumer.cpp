#include "millrace/stream/consumer.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>

#include "millrace/core/failure.hpp"
#include "millrace/kafka/admin.hpp"
#include "millrace/kafka/consumer.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/runtime/log.hpp"
#include "offset_store.hpp"

namespace millrace::stream {

using core::FailureClass;
using core::InfraError;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

constexpr milliseconds kPollInterval{100};
constexpr milliseconds kLagRefresh{1000};
constexpr milliseconds kWatermarkTimeout{2000};
// How long a poll waits while a batch commits: the loop collects a finished
// commit only between polls, and its offsets, metrics and a failure (which
// makes the batch accumulating behind it moot) should not wait for a message.
constexpr milliseconds kSettlePoll{10};
// Kafka's committed offsets only inform lag tools (PostgreSQL holds the
// position), so they go at most this often, not after every batch. At 1,500
// events/s with 10 ms batches, a commit per batch was ~200 OffsetCommits/s,
// and the event-to-append p99 of a producer on the same broker went from
// 15-22 ms to 45-130 ms (docs/benchmarks-optimizations.md, fourth round).
constexpr milliseconds kKafkaCommitInterval{1000};

// Thrown out of a rebalance callback when a stop was requested while the
// database was unreachable: there is nothing to position the partitions on.
struct StopRequested {};

// The thread that runs the loop's commits, one at a time, for the loop's
// whole life. A thread started per commit (std::async) cost about 75 µs of
// CPU per batch on our 2-core machines: with 10 ms batches, 100 thread starts
// a second per worker.
template <typename R>
class CommitThread {
 public:
  CommitThread() : thread_([this] { run(); }) {}
  // Runs the task queued, if any, then ends the thread.
  ~CommitThread() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  CommitThread(const CommitThread&) = delete;
  CommitThread& operator=(const CommitThread&) = delete;

  // The loop settles one commit before it starts the next, so at most one
  // task is ever queued. What the task throws comes out of the future.
  std::future<R> submit(std::function<R()> fn) {
    std::packaged_task<R()> task(std::move(fn));
    auto result = task.get_future();
    {
      std::lock_guard lock(mutex_);
      if (task_.valid()) throw std::logic_error("a commit was submitted before the last one ran");
      task_ = std::move(task);
    }
    cv_.notify_one();
    return result;
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return stopping_ || task_.valid(); });
      if (!task_.valid()) return;  // stopping, and nothing left to run
      auto task = std::move(task_);
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::packaged_task<R()> task_;  // the queued task; moved out to run
  bool stopping_ = false;
  std::thread thread_;  // last, so it starts once the members above exist
};

std::string tp_name(const std::string& topic, std::int32_t partition) {
  return topic + "[" + std::to_string(partition) + "]";
}

// The consumer's metrics. Counters move only when a batch commits, so the
// metrics tell the same story as record_outcomes: consumed equals the sum of
// outcomes per partition at every scrape.
class Instruments {
 public:
  Instruments(metrics::Registry& r, std::string topic)
      : registry_(r),
        topic_(std::move(topic)),
        batch_records_(r.histogram("millrace_batch_records", "Records per committed batch.",
                                   metrics::size_buckets())),
        commit_seconds_(r.histogram("millrace_batch_commit_duration_seconds",
                                    "Time to commit one batch (side effects and transaction).",
                                    metrics::latency_buckets())),
        fenced_(r.counter("millrace_commits_fenced_total",
                          "Commits refused because another member moved a stored offset.")),
        assigned_(r.gauge("millrace_assigned_partitions", "Partitions assigned to this member.")),
        started_(Clock::now()) {
    for (const char* kind : {"assign", "revoke"}) {
      rebalances_.emplace(kind, r.counter("millrace_rebalances_total",
                                          "Partition assignments and revocations.",
                                          {{"kind", kind}}));
    }
    for (const char* cls : {"retryable", "poison", "fatal"}) {
      pg_errors_.emplace(cls, r.counter("millrace_postgres_errors_total",
                                        "PostgreSQL (and dead-letter) failures by class.",
                                        {{"class", cls}}));
    }
    r.computed_gauge("millrace_consumer_lag_records",
                     "End offset minus the committed position, per assigned partition.",
                     [this] { return lag_samples(); });
    r.computed_gauge(
        "millrace_consumer_freshness_seconds",
        "Age of the newest committed record (now minus its Kafka timestamp), per partition.",
        [this] { return per_partition(newest_ms_, [](double ms, double now) { return now - ms / 1000; }); });
    r.computed_gauge("millrace_seconds_since_last_commit",
                     "Seconds since this member last committed a batch (since start if never).",
                     [this] {
                       const auto last = last_commit_ns_.load();
                       const auto since = last == 0 ? Clock::now() - started_
                                                    : Clock::now() - Clock::time_point(Clock::duration(last));
                       return std::vector<metrics::Sample>{
                           {{}, std::chrono::duration<double>(since).count()}};
                     });
  }

  void committed(const Batch& batch, double seconds) {
    batch_records_.observe(static_cast<double>(batch.consumed()));
    commit_seconds_.observe(seconds);
    last_commit_ns_ = Clock::now().time_since_epoch().count();
    std::lock_guard lock(mutex_);
    for (const auto& [partition, progress] : batch.partitions()) {
      const std::string p = std::to_string(partition);
      consumed(partition).inc(static_cast<double>(progress.consumed));
      for (const auto& [key, n] : progress.tally.counts()) {
        outcome(partition, key.first, key.second).inc(static_cast<double>(n));
      }
      if (progress.max_timestamp_ms >= 0) {
        auto& newest = newest_ms_[partition];
        newest = std::max(newest, static_cast<double>(progress.max_timestamp_ms));
      }
    }
  }

  // The committed position of an owned partition (nullopt: nothing stored
  // yet, so everything from the log start counts as lag).
  void set_position(std::int32_t partition, std::optional<std::int64_t> next) {
    std::lock_guard lock(mutex_);
    positions_[partition] = next;
  }

  // Lag = end offset - committed position, refreshed on a thread of its own:
  // broker queries must not stall the consumer loop, and a paused partition
  // (during an outage, exactly when lag matters) fetches no new watermarks.
  void start_lag(const std::string& brokers, const kafka::Properties& extra) {
    offsets_ = std::make_unique<kafka::OffsetsClient>(brokers, extra);
    lag_thread_ = std::thread([this] {
      std::unique_lock lock(lag_wait_mutex_);
      while (!lag_stop_) {
        refresh_lag();
        lag_cv_.wait_for(lock, kLagRefresh, [&] { return lag_stop_; });
      }
    });
  }
  void stop_lag() {
    {
      std::lock_guard lock(lag_wait_mutex_);
      lag_stop_ = true;
    }
    lag_cv_.notify_all();
    if (lag_thread_.joinable()) lag_thread_.join();
  }
  void assigned(const std::vector<std::int32_t>& partitions, bool assign) {
    rebalances_.at(assign ? "assign" : "revoke").inc();
    std::lock_guard lock(mutex_);
    for (const auto p : partitions) {
      if (!assign) {
        watermarks_.erase(p);
        newest_ms_.erase(p);
        positions_.erase(p);
      }
      // Make the accounting series exist from the start, at 0.
      if (assign) consumed(p);
    }
  }
  void owned(std::size_t n) { assigned_.set(static_cast<double>(n)); }
  void fenced() { fenced_.inc(); }
  void pg_error(core::FailureClass c) { pg_errors_.at(std::string(core::to_string(c))).inc(); }

 private:
  // Only the end offsets come from the refresh thread; the position is the
  // committed one at scrape time, so a commit shows at once.
  void refresh_lag() {
    std::vector<std::int32_t> partitions;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [p, next] : positions_) partitions.push_back(p);
    }
    for (const auto p : partitions) {
      try {
        const auto [low, high] = offsets_->watermarks(topic_, p, kWatermarkTimeout);
        std::lock_guard lock(mutex_);
        // Only if still owned: a revoke may have come meanwhile.
        if (positions_.contains(p)) watermarks_[p] = {low, high};
      } catch (const core::InfraError&) {
        // Broker unreachable: the last value stays; librdkafka reconnects.
      }
    }
  }

  std::vector<metrics::Sample> lag_samples() {
    std::lock_guard lock(mutex_);
    std::vector<metrics::Sample> out;
    for (const auto& [p, next] : positions_) {
      const auto it = watermarks_.find(p);
      if (it == watermarks_.end()) continue;  // not known yet
      const auto [low, high] = it->second;
      out.push_back({{{"topic", topic_}, {"partition", std::to_string(p)}},
                     static_cast<double>(std::max<std::int64_t>(0, high - next.value_or(low)))});
    }
    return out;
  }

  metrics::Counter& consumed(std::int32_t partition) {
    auto it = consumed_.find(partition);
    if (it == consumed_.end()) {
      it = consumed_
               .emplace(partition, registry_.counter("millrace_records_consumed_total",
                                                     "Records consumed and committed.",
                                                     {{"topic", topic_},
                                                      {"partition", std::to_string(partition)}}))
               .first;
    }
    return it->second;
  }
  metrics::Counter& outcome(std::int32_t partition, std::string_view outcome,
                            std::string_view reason) {
    const auto key = std::make_tuple(partition, std::string(outcome), std::string(reason));
    auto it = outcomes_.find(key);
    if (it == outcomes_.end()) {
      it = outcomes_
               .emplace(key, registry_.counter(
                                 "millrace_records_outcome_total",
                                 "What became of committed records, by outcome and reason.",
                                 {{"topic", topic_},
                                  {"partition", std::to_string(partition)},
                                  {"outcome", std::string(outcome)},
                                  {"reason", std::string(reason)}}))
               .first;
    }
    return it->second;
  }
  template <typename F>
  std::vector<metrics::Sample> per_partition(const std::map<std::int32_t, double>& values, F f) {
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::lock_guard lock(mutex_);
    std::vector<metrics::Sample> out;
    for (const auto& [p, v] : values) {
      out.push_back({{{"topic", topic_}, {"partition", std::to_string(p)}}, f(v, now)});
    }
    return out;
  }

  metrics::Registry& registry_;
  std::string topic_;
  metrics::Histogram batch_records_;
  metrics::Histogram commit_seconds_;
  metrics::Counter fenced_;
  metrics::Gauge assigned_;
  std::map<std::string, metrics::Counter> rebalances_;
  std::map<std::string, metrics::Counter> pg_errors_;
  Clock::time_point started_;
  std::atomic<Clock::rep> last_commit_ns_{0};
  std::mutex mutex_;
  std::map<std::int32_t, metrics::Counter> consumed_;
  std::map<std::tuple<std::int32_t, std::string, std::string>, metrics::Counter> outcomes_;
  std::map<std::int32_t, std::pair<std::int64_t, std::int64_t>> watermarks_;
  std::map<std::int32_t, double> newest_ms_;
  std::map<std::int32_t, std::optional<std::int64_t>> positions_;
  std::unique_ptr<kafka::OffsetsClient> offsets_;
  std::thread lag_thread_;
  std::mutex lag_wait_mutex_;
  std::condition_variable lag_cv_;
  bool lag_stop_ = false;
};

}  // namespace

class TransactionalConsumer::Loop final : public kafka::RebalanceListener {
 public:
  Loop(StreamConfig config, Handler& handler, std::string component, metrics::Registry& metrics)
      : config_(std::move(config)),
        handler_(handler),
        component_(std::move(component)),
        store_(config_.pg, config_.pg_schema, config_.group, config_.topic, component_, handler),
        state_(handler_.open_batch()),
        backoff_(config_.retry_backoff_ms),
        instruments_(metrics, config_.topic) {}

  void start() {
    if (thread_.joinable()) return;
    kafka::ConsumerConfig cc;
    cc.brokers = config_.brokers;
    cc.group_id = config_.group;
    cc.client_id = config_.client_id;
    cc.session_timeout_ms = static_cast<std::int32_t>(config_.session_timeout_ms);
    cc.extra = config_.kafka_extra;
    consumer_ = std::make_unique<kafka::Consumer>(cc, this);
    instruments_.start_lag(config_.brokers, config_.kafka_extra);
    thread_ = std::thread([this] { run_guarded(); });
  }

  void stop() {
    stop_requested_ = true;
    if (thread_.joinable()) thread_.join();
    instruments_.stop_lag();
  }

  bool wait(milliseconds timeout) {
    std::unique_lock lock(done_mutex_);
    return done_cv_.wait_for(lock, timeout, [&] { return done_; });
  }

  void rethrow_failure() {
    std::lock_guard lock(done_mutex_);
    if (failure_) std::rethrow_exception(failure_);
  }

  StreamStats stats() const {
    std::lock_guard lock(stats_mutex_);
    return stats_;
  }

  // ---- RebalanceListener (called on the loop thread, inside poll/close) ----

  void on_assign(std::vector<kafka::TopicPartition>& partitions) override {
    bump([](StreamStats& s) { ++s.rebalances; });
    // The connection is the commit thread's until its commit is settled.
    settle();
    std::vector<std::int32_t> ids;
    for (const auto& tp : partitions) ids.push_back(tp.partition);
    const auto stored = with_retry("read stored offsets", [&] { return store_.claim(ids); });
    std::string text = "assigned";
    for (auto& tp : partitions) {
      const auto& offset = stored.at(tp.partition);
      tp.offset = offset.value_or(kafka::kOffsetBeginning);
      book_.assign(tp.partition, offset);
      instruments_.set_position(tp.partition, offset);
      text += " " + tp_name(tp.topic, tp.partition) + "@" +
              (offset ? std::to_string(*offset) : std::string("beginning"));
    }
    // librdkafka keeps an application pause on a partition across unassign
    // and assign: one paused during an earlier reset would stay paused.
    resume_after_assign_ = true;
    instruments_.assigned(ids, true);
    instruments_.owned(book_.partitions().size());
    runtime::log_info(component_, text);
  }

  void on_revoke(const std::vector<kafka::TopicPartition>& partitions) override {
    bump([](StreamStats& s) { ++s.rebalances; });
    // Commit what we have while the partitions are still ours; if that fails
    // the next owner consumes those records again from the stored offsets.
    settle();
    if (!resetting_ && !batch_.empty()) {
      flush();
      settle();
    }
    commit_kafka(true);  // while the partitions are still ours
    std::vector<std::int32_t> ids;
    for (const auto& tp : partitions) {
      batch_.drop_partition(tp.partition);
      state_->discard(tp.partition);
      book_.revoke(tp.partition);
      ids.push_back(tp.partition);
    }
    instruments_.assigned(ids, false);
    instruments_.owned(book_.partitions().size());
    runtime::log_info(component_, "revoked " + std::to_string(partitions.size()) + " partition(s)");
  }

 private:
  template <typename F>
  void bump(F&& f) {
    std::lock_guard lock(stats_mutex_);
    f(stats_);
  }

  void run_guarded() {
    try {
      run();
    } catch (const std::exception& e) {
      runtime::log_error(component_, std::string("stopping on fatal error: ") + e.what());
      std::lock_guard lock(done_mutex_);
      failure_ = std::current_exception();
    } catch (const StopRequested&) {
      // Stop requested while waiting for the database: nothing to commit.
    }
    // After a failure a commit may still run. Its outcome no longer matters
    // (PostgreSQL holds it, and whoever consumes next resumes from there),
    // but the thread must not outlive the loop that owns its batch.
    if (in_flight_) in_flight_->outcome.wait();
    {
      std::lock_guard lock(done_mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
  }

  void run() {
    // Migrations first: a handler's session may prepare tables shaped like
    // the migrated ones.
    with_retry("prepare PostgreSQL", [&] {
      if (config_.migrate) {
        auto conn = pg::connect(config_.pg, config_.pg_schema, component_ + "-migrate");
        const int applied = pg::migrate(*conn, config_.pg_schema);
        if (applied > 0) {
          runtime::log_info(component_, "applied " + std::to_string(applied) +
                                            " migration(s) to schema " + config_.pg_schema);
        }
      }
      store_.ensure_connected();
      return 0;
    });
    consumer_->subscribe({config_.topic});
    runtime::log_info(component_, "consuming " + config_.topic + " as group " + config_.group);

    while (!stop_requested_) {
      if (resetting_) {
        recover();
        continue;
      }
      milliseconds timeout = in_flight_ ? kSettlePoll : kPollInterval;
      if (!batch_.empty()) {
        const auto left = std::chrono::duration_cast<milliseconds>(batch_deadline_ - Clock::now());
        timeout = std::clamp(left, milliseconds(0), timeout);
      }
      if (auto msg = consumer_->poll(timeout)) handle(*msg);
      if (in_flight_ && in_flight_->outcome.wait_for(milliseconds(0)) == std::future_status::ready) {
        settle();
      }
      commit_kafka(false);
      if (resume_after_assign_ && !resetting_) {
        consumer_->resume(owned());
        resume_after_assign_ = false;
      }
      if (!resetting_ && !batch_.empty() &&
          (batch_.consumed() >= static_cast<std::uint64_t>(config_.batch_size) ||
           Clock::now() >= batch_deadline_)) {
        flush();
      }
    }

    // SIGTERM: finish the batch in flight, commit the one accumulated, leave
    // the group.
    settle();
    if (!resetting_ && !batch_.empty()) {
      flush();
      settle();
    }
    commit_kafka(true);
    consumer_->close();
    runtime::log_info(component_, "stopped after consuming " +
                                      std::to_string(stats().consumed) + " record(s)");
  }

  void handle(const kafka::Message& msg) {
    const std::int32_t partition = msg.partition();
    const std::int64_t offset = msg.offset();
    // A rebalance callback inside the poll that returned this message may have
    // begun a reset: until recover() seeks, every message is stale.
    if (resetting_) return;
    // After a seek or a rebalance librdkafka may still hand out a message
    // fetched before it; the stored offset (or the end of the batch being
    // committed) says whether it is ours to process.
    if (!book_.owns(partition)) return;
    if (const auto from = book_.resume_offset(partition); from && offset < *from) return;
    if (const auto next = batch_.next_offset(partition); next && offset < *next) return;

    if (batch_.empty()) batch_deadline_ = Clock::now() + milliseconds(config_.batch_ms);
    auto& progress = batch_.add(partition, offset, msg.timestamp_ms().value_or(-1));
    const std::uint64_t before = progress.tally.total();
    handler_.handle(msg, progress, *state_);
    if (progress.tally.total() != before + 1) {
      throw std::logic_error("handler counted " + std::to_string(progress.tally.total() - before) +
                             " outcomes for one record at " + tp_name(config_.topic, partition) +
                             "@" + std::to_string(offset));
    }
  }

  // Seals the accumulated batch and commits it on another thread (the
  // handler's side effects first, then one PostgreSQL transaction with
  // offsets, rows and accounting) while this thread accumulates the next.
  // The commit before it is settled first: at most one is in flight, and
  // this batch's plan expects the offsets that one stored.
  void flush() {
    settle();
    if (resetting_ || batch_.empty()) return;  // a failed commit took this batch with it
    auto f = std::make_unique<InFlight>();
    f->plan = book_.plan(batch_);
    f->batch = std::exchange(batch_, Batch{});
    f->state = std::exchange(state_, handler_.open_batch());
    f->started = Clock::now();
    book_.begin_commit(f->plan);
    f->outcome = committer_.submit([this, f = f.get()] {
      handler_.before_commit(*f->state);
      CommitOutcome out{store_.commit(f->batch, *f->state, f->plan), {}};
      out.finished = Clock::now();
      return out;
    });
    in_flight_ = std::move(f);
  }

  // Waits for the commit in flight, if any, and applies its outcome here on
  // the loop thread: offsets, stats and metrics on success. On a fencing or
  // retryable failure the batch accumulating behind it goes too (its plan
  // would expect offsets that were not stored) and the consumer rewinds to
  // the stored offsets.
  void settle() {
    if (!in_flight_) return;
    const auto f = std::move(in_flight_);
    try {
      const auto outcome = f->outcome.get();
      if (!outcome.fenced.empty()) {
        // Another member stored newer offsets: ours would move lag tools back.
        kafka_pending_.clear();
        book_.abandon();
        bump([](StreamStats& s) { ++s.fenced; });
        instruments_.fenced();
        std::string text = "commit refused: another member moved the stored offset of";
        for (const auto p : outcome.fenced) text += " " + tp_name(config_.topic, p);
        runtime::log_warn(component_, text + "; rewinding to the stored offsets" + dropped_behind());
        begin_reset();
        return;
      }
      const auto plan = book_.committed();
      bump([&](StreamStats& s) {
        ++s.batches;
        s.consumed += f->batch.consumed();
        for (const auto& [partition, progress] : f->batch.partitions()) {
          for (const auto& [key, n] : progress.tally.counts()) s.outcomes[std::string(key.first)] += n;
        }
      });
      instruments_.committed(f->batch,
                             std::chrono::duration<double>(outcome.finished - f->started).count());
      for (const auto& t : plan) {
        kafka_pending_[t.partition] = t.next;
        instruments_.set_position(t.partition, t.next);
      }
      backoff_ = milliseconds(config_.retry_backoff_ms);
    } catch (const InfraError& e) {
      book_.abandon();
      instruments_.pg_error(e.failure_class());
      if (e.failure_class() == FailureClass::kFatal) throw;
      if (e.failure_class() == FailureClass::kPoison) {
        // Handlers validate before writing; a refusal here means the contract
        // and the tables disagree, which needs a human.
        throw InfraError(FailureClass::kFatal, std::string("PostgreSQL refused a batch: ") +
                                                   e.what() + " (" + describe_batch(f->batch) +
                                                   ")");
      }
      bump([](StreamStats& s) { ++s.db_errors; });
      runtime::log_warn(component_, std::string(e.what()) + "; pausing and retrying (" +
                                        describe_batch(f->batch) + dropped_behind() + ")");
      begin_reset();
    }
  }

  // Hands the offsets PostgreSQL stored since the last call to Kafka, when
  // kKafkaCommitInterval has passed or `now` says so (revoke, shutdown).
  void commit_kafka(bool now) {
    if (kafka_pending_.empty()) return;
    const auto t = Clock::now();
    if (!now && t < kafka_commit_due_) return;
    std::vector<kafka::TopicPartition> offsets;
    for (const auto& [partition, next] : kafka_pending_) {
      offsets.push_back({config_.topic, partition, next});
    }
    kafka_pending_.clear();
    kafka_commit_due_ = t + kKafkaCommitInterval;
    consumer_->commit_async(offsets);
  }

  // The batch that accumulated while a failed commit ran goes with it.
  std::string dropped_behind() const {
    if (batch_.empty()) return "";
    return "; dropping the " + std::to_string(batch_.consumed()) +
           " record(s) accumulated behind it";
  }

  std::string describe_batch(const Batch& batch) const {
    std::string text = "batch";
    for (const auto& [partition, p] : batch.partitions()) {
      text += " " + tp_name(config_.topic, partition) + " offsets " +
              std::to_string(p.first_offset) + ".." + std::to_string(p.next_offset - 1);
    }
    return text;
  }

  std::vector<kafka::TopicPartition> owned() const {
    std::vector<kafka::TopicPartition> out;
    for (const auto p : book_.partitions()) out.push_back({config_.topic, p, kafka::kOffsetInvalid});
    return out;
  }

  // Stop consuming and forget uncommitted work; recover() resumes from the
  // offsets PostgreSQL holds, which is correct whatever happened to the
  // failed transaction (even a commit whose outcome is unknown). Called with
  // no commit in flight (settle() collected it), so the connection is ours,
  // and recover() runs only then too.
  void begin_reset() {
    if (in_flight_) throw std::logic_error("reset while a commit is in flight");
    batch_.clear();
    state_ = handler_.open_batch();
    store_.disconnect();
    consumer_->pause(owned());
    resetting_ = true;
  }

  void recover() {
    // Keep polling while paused: it serves rebalances and keeps us in the group.
    const auto until = Clock::now() + backoff_;
    while (!stop_requested_ && Clock::now() < until) {
      consumer_->poll(std::min(kPollInterval, backoff_));  // any message here is stale
    }
    if (stop_requested_) return;
    try {
      const auto stored = store_.claim(book_.partitions());
      std::vector<kafka::TopicPartition> positions;
      for (const auto& [p, offset] : stored) {
        book_.assign(p, offset);
        instruments_.set_position(p, offset);
        positions.push_back({config_.topic, p, offset.value_or(kafka::kOffsetBeginning)});
      }
      consumer_->seek(positions, milliseconds(10000));
      consumer_->resume(owned());
      resume_after_assign_ = false;
      resetting_ = false;
      backoff_ = milliseconds(config_.retry_backoff_ms);
      runtime::log_info(component_, "resumed from stored offsets");
    } catch (const InfraError& e) {
      instruments_.pg_error(e.failure_class());
      if (!e.retryable()) throw;
      bump([](StreamStats& s) { ++s.db_errors; });
      backoff_ = std::min(backoff_ * 2, milliseconds(config_.retry_backoff_max_ms));
      runtime::log_warn(component_, std::string(e.what()) + "; retrying in " +
                                        std::to_string(backoff_.count()) + " ms");
    }
  }

  // Runs f until it succeeds, backing off on retryable failures. Used where
  // there is no batch to drop (start-up, assignment).
  template <typename F>
  std::invoke_result_t<F> with_retry(std::string_view what, F&& f) {
    milliseconds wait(config_.retry_backoff_ms);
    for (;;) {
      try {
        return f();
      } catch (const InfraError& e) {
        instruments_.pg_error(e.failure_class());
        if (!e.retryable()) throw;
        bump([](StreamStats& s) { ++s.db_errors; });
        runtime::log_warn(component_, std::string(what) + ": " + e.what() + "; retrying in " +
                                          std::to_string(wait.count()) + " ms");
      }
      const auto until = Clock::now() + wait;
      while (Clock::now() < until) {
        if (stop_requested_) throw StopRequested{};
        std::this_thread::sleep_for(std::min(milliseconds(50), wait));
      }
      wait = std::min(wait * 2, milliseconds(config_.retry_backoff_max_ms));
    }
  }

  StreamConfig config_;
  Handler& handler_;
  std::string component_;
  detail::OffsetStore store_;
  std::unique_ptr<kafka::Consumer> consumer_;

  // What one commit returns to the loop thread.
  struct CommitOutcome {
    std::vector<std::int32_t> fenced;  // non-empty: refused, nothing committed
    Clock::time_point finished;
  };
  // A sealed batch being committed on another thread. Until `outcome` is
  // ready only that thread touches batch, state and the store; the loop
  // thread reads nothing here but `outcome` (the book has its own copy of
  // the plan).
  struct InFlight {
    Batch batch;
    std::unique_ptr<BatchState> state;
    std::vector<OffsetTransition> plan;
    Clock::time_point started;
    std::future<CommitOutcome> outcome;
    // The commit thread works on the members above until the outcome is
    // ready; a packaged_task's future, unlike std::async's, does not wait on
    // destruction, so this does.
    ~InFlight() {
      if (outcome.valid()) outcome.wait();
    }
  };

  // Loop thread only: the batch accumulating and its handler state.
  Batch batch_;
  std::unique_ptr<BatchState> state_;
  std::unique_ptr<InFlight> in_flight_;
  // Declared after the store and the batches its commits use, so it is
  // destroyed (and its thread joined) before them.
  CommitThread<CommitOutcome> committer_;
  OffsetBook book_;
  Clock::time_point batch_deadline_{};
  // Offsets PostgreSQL stored that Kafka has not been told yet, by partition.
  std::map<std::int32_t, std::int64_t> kafka_pending_;
  Clock::time_point kafka_commit_due_{};
  bool resetting_ = false;
  bool resume_after_assign_ = false;
  milliseconds backoff_;
  Instruments instruments_;

  std::atomic<bool> stop_requested_{false};
  std::thread thread_;
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::exception_ptr failure_;

  mutable std::mutex stats_mutex_;
  StreamStats stats_;
};

TransactionalConsumer::TransactionalConsumer(StreamConfig config, Handler& handler,
                                             std::string component, metrics::Registry& metrics)
    : loop_(std::make_unique<Loop>(std::move(config), handler, std::move(component), metrics)) {}
TransactionalConsumer::~TransactionalConsumer() { Stop(); }
void TransactionalConsumer::Start() { loop_->start(); }
void TransactionalConsumer::Stop() { loop_->stop(); }
bool TransactionalConsumer::wait(milliseconds timeout) { return loop_->wait(timeout); }
void TransactionalConsumer::rethrow_failure() { loop_->rethrow_failure(); }
StreamStats TransactionalConsumer::stats() const { return loop_->stats(); }

}  // namespace millrace::stream
