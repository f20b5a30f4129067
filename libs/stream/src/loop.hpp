#pragma once

// The stream loop behind TransactionalConsumer: one thread that polls Kafka,
// assembles batches and commits each with its offsets in PostgreSQL, through
// the ports in ports.hpp. Its state is one object because every job below
// reads the same batch, offset book and reset flag; the jobs live in a file
// each:
//
//   consumer.cpp         the public class, and the thread's start, end and failure
//   loop.cpp             run(): start-up, one round of polling after another, shutdown
//   batching.cpp         a polled record into the batch, and when the batch is due
//   reads.cpp            how far partitions were read: the probe's, read_to's and idle()'s
//   commit_pipeline.cpp  sealing a batch, its commit on the commit thread, its outcome,
//                        and the stored offsets handed on to Kafka for lag tools
//   rebalance.cpp        the group's assignments and revocations, and re-assignments
//   out_of_range.cpp     the broker has no record at a stored offset (out_of_range.hpp)
//   stall.cpp            re-arming a partition that stalled with nothing to explain it
//   recovery.cpp         the reset after a failed commit, and resuming from PostgreSQL

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "millrace/core/failure.hpp"
#include "millrace/core/task_thread.hpp"
#include "millrace/kafka/consumer.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/worker.hpp"
#include "millrace/stream/batch.hpp"
#include "millrace/stream/consumer.hpp"
#include "ports.hpp"
#include "probe.hpp"

namespace millrace::stream {

namespace detail {

// "topic[partition]", as every log line names a partition.
std::string tp_name(const std::string& topic, std::int32_t partition);

// The longest a poll waits: the loop's other rounds (a settled commit, a
// sealed batch, a stop) wait on it.
inline constexpr std::chrono::milliseconds kPollInterval{100};

}  // namespace detail

class TransactionalConsumer::Loop final : public kafka::RebalanceListener {
 public:
  using Clock = std::chrono::steady_clock;

  Loop(StreamConfig config, Handler& handler, std::string component, metrics::Registry& metrics,
       detail::Ports ports);
  // A member that stopped must not leave the group through the destructor
  // of a half-destroyed loop (rd_kafka_consumer_close calls back into
  // on_revoke); the thread closes the consumer itself before it ends.
  ~Loop() { stop(); }

  void start();
  void stop();
  bool wait(std::chrono::milliseconds timeout);
  void rethrow_failure();
  StreamStats stats() const;
  std::map<std::int32_t, std::string> halted() const { return probe_.halted_partitions(); }

  // ---- RebalanceListener (called on the loop thread, inside poll/close) ----
  void on_assign(std::vector<kafka::TopicPartition>& partitions) override;
  void on_revoke(const std::vector<kafka::TopicPartition>& partitions) override;
  void on_offset_out_of_range(const kafka::TopicPartition& tp) override;
  void on_end_of_partition(const kafka::TopicPartition& tp) override;

 private:
  struct RebalanceScope {
    explicit RebalanceScope(bool& flag) : flag(flag) { flag = true; }
    ~RebalanceScope() { flag = false; }
    RebalanceScope(const RebalanceScope&) = delete;
    RebalanceScope& operator=(const RebalanceScope&) = delete;
    bool& flag;
  };

  // What one commit returns to the loop thread.
  struct CommitOutcome {
    detail::CommitResult result;  // fenced non-empty: refused, nothing committed
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
    // Set by the commit thread as it finishes, just before `outcome` is
    // ready, with the loop's poll woken: the loop then settles at once
    // (waiting out the moment until `outcome` is ready) instead of polling
    // on with a record waiting behind this commit.
    std::atomic<bool> finishing{false};
    // The commit thread works on the members above until the outcome is
    // ready; a packaged_task's future, unlike std::async's, does not wait on
    // destruction, so this does.
    ~InFlight() {
      if (outcome.valid()) outcome.wait();
    }
  };

  // consumer.cpp: the thread's end, and stats.
  void abandon();
  template <typename F>
  void bump(F&& f) {
    std::lock_guard lock(stats_mutex_);
    f(stats_);
  }

  // loop.cpp
  void run();
  void prepare();
  void poll_round();

  // batching.cpp
  void handle(const kafka::Message& msg);
  // How long until the batch is due to be sealed, as of `now`.
  std::chrono::milliseconds seal_wait(Clock::time_point now) const;

  // reads.cpp
  std::map<std::int32_t, std::int64_t> read_positions();
  void report_reads(Clock::time_point now);
  void report_idle();
  void forget_reads(const std::vector<std::int32_t>& partitions);

  // commit_pipeline.cpp
  void flush(std::optional<RecordRef> unhandled = std::nullopt);
  void settle();
  void drain();
  void settle_fenced(const std::vector<std::int32_t>& fenced);
  void settle_committed(const InFlight& f, const CommitOutcome& outcome);
  std::string dropped_behind() const;
  std::string describe_batch(const Batch& batch) const;
  void commit_kafka(bool force, Clock::time_point now = Clock::now());

  // rebalance.cpp
  bool reassign();

  // out_of_range.cpp
  void resolve_out_of_range(const kafka::TopicPartition& tp);
  std::optional<std::int64_t> confirm_ahead(std::int32_t partition, std::int64_t stored,
                                            std::int64_t end);
  void skip_gap(std::int32_t partition, std::int64_t stored, std::int64_t low);
  void halt(std::int32_t partition, std::string_view reason, const std::string& text);

  // stall.cpp
  void rearm_stalled();

  // recovery.cpp
  void begin_reset();
  void recover();
  // Runs f until it succeeds, backing off on retryable failures. Used where
  // there is no batch to drop (start-up, assignment). Throws
  // runtime::Stopped (through a rebalance callback, too) when a stop comes
  // while the database is unreachable: there is nothing to position the
  // partitions on.
  template <typename F>
  std::invoke_result_t<F> with_retry(std::string_view what, F&& f) {
    return worker_.retry(what, std::forward<F>(f));
  }
  // The loop thread's end, however it ends: leaves the group.
  void finish();

  StreamConfig config_;
  Handler& handler_;
  // The handler's capabilities, where it has them (handler.hpp).
  SealsBatches* seals_;
  WatchesReads* watches_;
  std::string component_;
  std::function<std::unique_ptr<detail::ConsumerPort>(kafka::RebalanceListener*)> make_consumer_;
  bool lag_;
  std::unique_ptr<detail::CommitPort> batch_committer_;
  std::unique_ptr<detail::ConsumerPort> consumer_;

  // Loop thread only: the batch accumulating and its handler state.
  Batch batch_;
  std::unique_ptr<BatchState> state_;
  std::unique_ptr<InFlight> in_flight_;
  // Declared after the store and the batches its commits use, so it is
  // destroyed (and its thread joined) before them.
  core::TaskThread<CommitOutcome> committer_;
  OffsetBook book_;
  Clock::time_point batch_deadline_{};
  // The batch size and time of the batch accumulating, taken as it began
  // (a SIGHUP may change them between batches, never within one).
  BatchLimits limits_;
  // How far each partition was read since the last report to the probe.
  std::map<std::int32_t, std::int64_t> reads_;
  Clock::time_point reads_due_{};
  Clock::time_point idle_due_{};
  // Offsets PostgreSQL stored that Kafka has not been told yet, by partition.
  std::map<std::int32_t, std::int64_t> kafka_pending_;
  Clock::time_point kafka_commit_due_{};
  bool resetting_ = false;
  // Inside a rebalance callback, whose assignment librdkafka applies after it.
  bool in_rebalance_ = false;
  // Partitions owned but not read: their stored offset is outside the log.
  std::set<std::int32_t> halted_;
  // Giving up: rebalances only drop state, nothing commits any more.
  bool abandoning_ = false;
  bool closed_ = false;
  // The wait before the next reset's resume: it grows until a batch commits.
  runtime::Backoff backoff_;
  ConsumerProbe probe_;

  mutable std::mutex stats_mutex_;
  StreamStats stats_;
  // Last: its thread uses every member above.
  runtime::Worker worker_;
  bool started_ = false;
};

}  // namespace millrace::stream
