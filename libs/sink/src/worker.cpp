#include "millrace/sink/worker.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>

#include "millrace/core/failure.hpp"
#include "millrace/kafka/consumer.hpp"
#include "millrace/kafka/producer.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/sink/batch.hpp"
#include "store.hpp"

namespace millrace::sink {

using core::FailureClass;
using core::InfraError;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kLog = "sink";
constexpr milliseconds kPollInterval{100};
constexpr milliseconds kDlqFlushTimeout{30000};

// Thrown out of a rebalance callback when a stop was requested while the
// database was unreachable: there is nothing to position the partitions on.
struct StopRequested {};

std::string tp_name(const std::string& topic, std::int32_t partition) {
  return topic + "[" + std::to_string(partition) + "]";
}

}  // namespace

class SinkWorker::Loop final : public kafka::RebalanceListener {
 public:
  explicit Loop(SinkConfig config)
      : config_(std::move(config)),
        store_(config_.pg, config_.pg_schema, config_.group, config_.topic),
        backoff_(config_.retry_backoff_ms) {}

  void start() {
    if (thread_.joinable()) return;
    kafka::ConsumerConfig cc;
    cc.brokers = config_.brokers;
    cc.group_id = config_.group;
    cc.client_id = config_.client_id;
    cc.session_timeout_ms = static_cast<std::int32_t>(config_.session_timeout_ms);
    cc.extra = config_.kafka_extra;
    consumer_ = std::make_unique<kafka::Consumer>(cc, this);

    kafka::ProducerConfig pc;
    pc.brokers = config_.brokers;
    pc.client_id = config_.client_id + "-dlq";
    pc.linger_ms = 5;
    pc.message_timeout_ms = static_cast<std::int32_t>(kDlqFlushTimeout.count());
    dlq_ = std::make_unique<kafka::Producer>(pc);

    thread_ = std::thread([this] { run_guarded(); });
  }

  void stop() {
    stop_requested_ = true;
    if (thread_.joinable()) thread_.join();
  }

  bool wait(milliseconds timeout) {
    std::unique_lock lock(done_mutex_);
    return done_cv_.wait_for(lock, timeout, [&] { return done_; });
  }

  void rethrow_failure() {
    std::lock_guard lock(done_mutex_);
    if (failure_) std::rethrow_exception(failure_);
  }

  SinkStats stats() const {
    SinkStats s;
    s.consumed = consumed_;
    s.persisted = persisted_;
    s.duplicates = duplicates_;
    s.filtered = filtered_;
    s.rejected = rejected_;
    s.batches = batches_;
    s.fenced = fenced_;
    s.db_errors = db_errors_;
    s.rebalances = rebalances_;
    return s;
  }

  // ---- RebalanceListener (called on the loop thread, inside poll/close) ----

  void on_assign(std::vector<kafka::TopicPartition>& partitions) override {
    ++rebalances_;
    std::vector<std::int32_t> ids;
    for (const auto& tp : partitions) ids.push_back(tp.partition);
    const auto stored = with_retry("read stored offsets", [&] { return store_.claim(ids); });
    std::string text = "assigned";
    for (auto& tp : partitions) {
      const auto& offset = stored.at(tp.partition);
      tp.offset = offset.value_or(kafka::kOffsetBeginning);
      book_.assign(tp.partition, offset);
      text += " " + tp_name(tp.topic, tp.partition) + "@" +
              (offset ? std::to_string(*offset) : std::string("beginning"));
    }
    // librdkafka keeps an application pause on a partition across unassign
    // and assign: one paused during an earlier reset would stay paused.
    resume_after_assign_ = true;
    runtime::log_info(kLog, text);
  }

  void on_revoke(const std::vector<kafka::TopicPartition>& partitions) override {
    ++rebalances_;
    // Commit what we have while the partitions are still ours; if that fails
    // the next owner consumes those records again from the stored offsets.
    if (!resetting_ && !batch_.empty()) flush();
    for (const auto& tp : partitions) {
      batch_.drop_partition(tp.partition);
      book_.revoke(tp.partition);
    }
    runtime::log_info(kLog, "revoked " + std::to_string(partitions.size()) + " partition(s)");
  }

 private:
  void run_guarded() {
    try {
      run();
    } catch (const std::exception& e) {
      runtime::log_error(kLog, std::string("stopping on fatal error: ") + e.what());
      std::lock_guard lock(done_mutex_);
      failure_ = std::current_exception();
    } catch (const StopRequested&) {
      // Stop requested while waiting for the database: nothing to commit.
    }
    {
      std::lock_guard lock(done_mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
  }

  void run() {
    // Migrations first: the store's session prepares a staging table shaped
    // like store_events.
    with_retry("prepare PostgreSQL", [&] {
      if (config_.migrate) {
        auto conn = pg::connect(config_.pg, config_.pg_schema, "millrace-migrate");
        const int applied = pg::migrate(*conn, config_.pg_schema);
        if (applied > 0) {
          runtime::log_info(kLog, "applied " + std::to_string(applied) +
                                      " migration(s) to schema " + config_.pg_schema);
        }
      }
      store_.ensure_connected();
      return 0;
    });
    dlq_partitions_ = dlq_->partition_count(config_.dlq_topic, milliseconds(10000));
    consumer_->subscribe({config_.topic});
    runtime::log_info(kLog, "consuming " + config_.topic + " as group " + config_.group);

    while (!stop_requested_) {
      if (resetting_) {
        recover();
        continue;
      }
      milliseconds timeout = kPollInterval;
      if (!batch_.empty()) {
        const auto left = std::chrono::duration_cast<milliseconds>(batch_deadline_ - Clock::now());
        timeout = std::clamp(left, milliseconds(0), kPollInterval);
      }
      if (auto msg = consumer_->poll(timeout)) handle(*msg);
      if (resume_after_assign_ && !resetting_) {
        consumer_->resume(owned());
        resume_after_assign_ = false;
      }
      dlq_->poll();
      if (!batch_.empty() && (batch_.consumed() >= static_cast<std::uint64_t>(config_.batch_size) ||
                              Clock::now() >= batch_deadline_)) {
        flush();
      }
    }

    // SIGTERM: finish the batch, commit, leave the group, flush producers.
    if (!resetting_ && !batch_.empty()) flush();
    consumer_->close();
    if (dlq_->flush(kDlqFlushTimeout) != 0) {
      runtime::log_warn(kLog, "dead-letter producer still had messages in flight at exit; "
                              "their source offsets were not committed and will be replayed");
    }
    runtime::log_info(kLog, "stopped after consuming " + std::to_string(consumed_.load()) +
                                " record(s)");
  }

  void handle(const kafka::Message& msg) {
    const std::int32_t partition = msg.partition();
    const std::int64_t offset = msg.offset();
    // After a seek or a rebalance librdkafka may still hand out a message
    // fetched before it; the stored offset says whether it is ours to process.
    if (!book_.owns(partition)) return;
    if (const auto stored = book_.stored(partition); stored && offset < *stored) return;
    if (const auto it = batch_.partitions().find(partition);
        it != batch_.partitions().end() && offset < it->second.next_offset) {
      return;
    }

    Decision decision = classify(msg.payload(), msg.header(core::kHeaderEventType), config_.filter);
    if (const auto* rejected = std::get_if<Rejected>(&decision)) dead_letter(msg, rejected->rejection);
    if (batch_.empty()) batch_deadline_ = Clock::now() + milliseconds(config_.batch_ms);
    batch_.add(partition, offset, msg.timestamp_ms().value_or(-1), std::move(decision));
  }

  void dead_letter(const kafka::Message& msg, const core::Rejection& rejection) {
    const std::string partition = std::to_string(msg.partition());
    const std::string offset = std::to_string(msg.offset());
    const std::string timestamp = std::to_string(msg.timestamp_ms().value_or(-1));
    const auto original = msg.headers();
    std::vector<kafka::OutHeader> headers;
    headers.reserve(original.size() + 7);
    for (const auto& [key, value] : original) headers.push_back({key, value});
    headers.push_back({"millrace.reason", core::reason_code(rejection.reason)});
    headers.push_back({"millrace.field", rejection.field});
    headers.push_back({"millrace.detail", rejection.detail});
    headers.push_back({"millrace.source.topic", msg.topic()});
    headers.push_back({"millrace.source.partition", partition});
    headers.push_back({"millrace.source.offset", offset});
    headers.push_back({"millrace.source.timestamp", timestamp});
    dlq_->produce(config_.dlq_topic, msg.partition() % dlq_partitions_, msg.key().value_or(""),
                  msg.payload(), headers);
    dlq_pending_ = true;
  }

  // Commits the batch: dead letters durable first, then one PostgreSQL
  // transaction with rows, offsets and accounting. On a retryable failure the
  // batch is dropped and the worker rewinds to the stored offsets.
  void flush() {
    const auto plan = book_.plan(batch_);
    try {
      if (dlq_pending_) {
        const auto before = dlq_->stats().failed;
        if (dlq_->flush(kDlqFlushTimeout) != 0 || dlq_->stats().failed != dlq_failed_seen_) {
          dlq_failed_seen_ = dlq_->stats().failed;
          throw InfraError(FailureClass::kRetryable,
                           "dead-letter write to " + config_.dlq_topic + " failed: " +
                               dlq_->stats().first_error + " (" +
                               std::to_string(dlq_failed_seen_ - before) + " record(s))");
        }
        dlq_pending_ = false;
      }
      const auto result = store_.commit(batch_, plan);
      if (!result.fenced.empty()) {
        ++fenced_;
        std::string text = "commit refused: another member moved the stored offset of";
        for (const auto p : result.fenced) text += " " + tp_name(config_.topic, p);
        runtime::log_warn(kLog, text + "; rewinding to the stored offsets");
        begin_reset();
        return;
      }
      account(result);
      book_.committed(plan);
      std::vector<kafka::TopicPartition> offsets;
      for (const auto& t : plan) offsets.push_back({config_.topic, t.partition, t.next});
      consumer_->commit_async(offsets);
      batch_.clear();
      backoff_ = milliseconds(config_.retry_backoff_ms);
    } catch (const InfraError& e) {
      if (e.failure_class() == FailureClass::kFatal) throw;
      if (e.failure_class() == FailureClass::kPoison) {
        // Validation admits only rows PostgreSQL accepts; a refusal here means
        // the contract and the table disagree, which needs a human.
        throw InfraError(FailureClass::kFatal, std::string("PostgreSQL refused a batch: ") +
                                                   e.what() + " (" + describe_batch() + ")");
      }
      ++db_errors_;
      runtime::log_warn(kLog, std::string(e.what()) + "; pausing and retrying (" +
                                  describe_batch() + ")");
      begin_reset();
    }
  }

  void account(const detail::CommitResult& result) {
    ++batches_;
    for (const auto& [partition, progress] : batch_.partitions()) {
      const auto it = result.inserted.find(partition);
      const std::uint64_t inserted = it == result.inserted.end() ? 0 : it->second;
      consumed_ += progress.consumed;
      persisted_ += inserted;
      duplicates_ += progress.kept - inserted;
      for (const auto n : progress.filtered) filtered_ += n;
      for (const auto n : progress.rejected) rejected_ += n;
    }
  }

  std::string describe_batch() const {
    std::string text = "batch";
    for (const auto& [partition, p] : batch_.partitions()) {
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
  // failed transaction (even a commit whose outcome is unknown).
  void begin_reset() {
    batch_.clear();
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
      const auto partitions = book_.partitions();
      const auto stored = store_.claim(partitions);
      std::vector<kafka::TopicPartition> positions;
      for (const auto& [p, offset] : stored) {
        book_.assign(p, offset);
        positions.push_back({config_.topic, p, offset.value_or(kafka::kOffsetBeginning)});
      }
      consumer_->seek(positions, milliseconds(10000));
      consumer_->resume(owned());
      resume_after_assign_ = false;
      resetting_ = false;
      backoff_ = milliseconds(config_.retry_backoff_ms);
      runtime::log_info(kLog, "resumed from stored offsets");
    } catch (const InfraError& e) {
      if (!e.retryable()) throw;
      ++db_errors_;
      backoff_ = std::min(backoff_ * 2, milliseconds(config_.retry_backoff_max_ms));
      runtime::log_warn(kLog, std::string(e.what()) + "; retrying in " +
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
        if (!e.retryable()) throw;
        ++db_errors_;
        runtime::log_warn(kLog, std::string(what) + ": " + e.what() + "; retrying in " +
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

  SinkConfig config_;
  detail::EventStore store_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::unique_ptr<kafka::Producer> dlq_;
  std::int32_t dlq_partitions_ = 1;
  bool dlq_pending_ = false;
  std::uint64_t dlq_failed_seen_ = 0;

  Batch batch_;
  OffsetBook book_;
  Clock::time_point batch_deadline_{};
  bool resetting_ = false;
  bool resume_after_assign_ = false;
  milliseconds backoff_;

  std::atomic<bool> stop_requested_{false};
  std::thread thread_;
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::exception_ptr failure_;

  std::atomic<std::uint64_t> consumed_{0}, persisted_{0}, duplicates_{0}, filtered_{0},
      rejected_{0}, batches_{0}, fenced_{0}, db_errors_{0}, rebalances_{0};
};

SinkWorker::SinkWorker(SinkConfig config) : loop_(std::make_unique<Loop>(std::move(config))) {}
SinkWorker::~SinkWorker() { Stop(); }
void SinkWorker::Start() { loop_->start(); }
void SinkWorker::Stop() { loop_->stop(); }
bool SinkWorker::wait(milliseconds timeout) { return loop_->wait(timeout); }
void SinkWorker::rethrow_failure() { loop_->rethrow_failure(); }
SinkStats SinkWorker::stats() const { return loop_->stats(); }

}  // namespace millrace::sink
