#include "millrace/stream/consumer.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>

#include "batch_committer.hpp"
#include "commit_thread.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/kafka/admin.hpp"
#include "millrace/kafka/consumer.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/runtime/log.hpp"
#include "ports.hpp"
#include "probe.hpp"
#include "production_ports.hpp"

namespace millrace::stream {

using core::FailureClass;
using core::InfraError;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

constexpr milliseconds kPollInterval{100};
// How long a poll waits while a batch commits: the loop collects a finished
// commit only between polls, and its offsets, metrics and a failure (which
// makes the batch accumulating behind it moot) should not wait for a message.
constexpr milliseconds kSettlePoll{10};
// How often an idle loop tells a handler that wants it how far it has read.
constexpr milliseconds kIdleReportInterval{20};
// Kafka's committed offsets only inform lag tools (PostgreSQL holds the
// position), so they go at most this often, not after every batch: with
// small batches, one OffsetCommit per batch per worker loads the broker that
// the producers append to, and their latency shows it.
constexpr milliseconds kKafkaCommitInterval{1000};
// The probe learns how far partitions were read this often.
constexpr milliseconds kReadReportInterval{1000};

// Thrown out of a rebalance callback when a stop was requested while the
// database was unreachable: there is nothing to position the partitions on.
struct StopRequested {};

std::string tp_name(const std::string& topic, std::int32_t partition) {
  return topic + "[" + std::to_string(partition) + "]";
}

}  // namespace

class TransactionalConsumer::Loop final : public kafka::RebalanceListener {
 public:
  Loop(StreamConfig config, Handler& handler, std::string component, metrics::Registry& metrics,
       detail::Ports ports)
      : config_(std::move(config)),
        handler_(handler),
        component_(std::move(component)),
        make_consumer_(std::move(ports.consumer)),
        lag_(ports.lag),
        batch_committer_(std::move(ports.committer)),
        state_(handler_.open_batch()),
        backoff_(config_.retry.first_ms),
        probe_(metrics, config_.kafka.topic, component_,
               std::chrono::seconds(config_.stall_timeout_s)) {}

  // A member that stopped must not leave the group through the destructor
  // of a half-destroyed loop (rd_kafka_consumer_close calls back into
  // on_revoke); the thread closes the consumer itself before it ends.
  ~Loop() { stop(); }

  void start() {
    if (thread_.joinable()) return;
    consumer_ = make_consumer_(this);
    if (lag_) probe_.start_lag(config_.kafka.brokers, config_.kafka.extra);
    thread_ = std::thread([this] { run_guarded(); });
  }

  void stop() {
    stop_requested_ = true;
    if (thread_.joinable()) thread_.join();
    probe_.stop_lag();
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
    const RebalanceScope scope(in_rebalance_);
    bump([](StreamStats& s) { ++s.rebalances; });
    // The connection is the commit thread's until its commit is settled.
    settle();
    std::vector<std::int32_t> ids;
    for (const auto& tp : partitions) ids.push_back(tp.partition);
    const auto stored =
        with_retry("read stored offsets", [&] { return batch_committer_->claim(ids); });
    std::string text = "assigned";
    for (auto& tp : partitions) {
      const auto& offset = stored.at(tp.partition);
      tp.offset = offset.value_or(kafka::kOffsetBeginning);
      book_.assign(tp.partition, offset);
      probe_.set_position(tp.partition, offset);
      text += " " + tp_name(tp.topic, tp.partition) + "@" +
              (offset ? std::to_string(*offset) : std::string("beginning"));
    }
    probe_.assigned(ids, true);
    probe_.owned(book_.partitions().size());
    runtime::log_info(component_, text);
  }

  void on_revoke(const std::vector<kafka::TopicPartition>& partitions) override {
    const RebalanceScope scope(in_rebalance_);
    bump([](StreamStats& s) { ++s.rebalances; });
    if (!abandoning_) {
      // Commit what we have while the partitions are still ours; if that
      // fails the next owner consumes those records again from the stored
      // offsets.
      settle();
      if (!resetting_ && !batch_.empty()) {
        flush();
        settle();
      }
      commit_kafka(true);  // while the partitions are still ours
    }
    std::vector<std::int32_t> ids;
    std::vector<kafka::TopicPartition> unhalt;
    for (const auto& tp : partitions) {
      forget_reads({tp.partition});
      batch_.drop_partition(tp.partition);
      state_->discard(tp.partition);
      book_.revoke(tp.partition);
      if (halted_.erase(tp.partition) != 0) unhalt.push_back(tp);
      ids.push_back(tp.partition);
    }
    // librdkafka keeps an application pause across unassign and assign: lift
    // it now, while the assignment stands (the unassign after this callback
    // is ordered behind it), or the partition would come back paused.
    if (!unhalt.empty()) consumer_->resume(unhalt);
    probe_.assigned(ids, false);
    probe_.owned(book_.partitions().size());
    runtime::log_info(component_, "revoked " + std::to_string(partitions.size()) + " partition(s)");
  }

  // The broker has no record where a partition was to be read: see the
  // policy in docs/exactly-once.md ("Offsets and gaps").
  void on_offset_out_of_range(const kafka::TopicPartition& tp) override {
    const std::int32_t p = tp.partition;
    if (abandoning_ || resetting_ || !book_.owns(p) || halted_.contains(p)) return;
    try {
      judge_out_of_range(tp);
    } catch (const InfraError& e) {
      if (!e.retryable()) throw;
      // The broker or PostgreSQL did not answer: the reset repositions every
      // partition from PostgreSQL, and the broker reports again if need be.
      runtime::log_warn(component_, tp_name(config_.kafka.topic, p) + ": " + e.what() +
                                        "; rewinding to the stored offsets");
      if (!resetting_) begin_reset();
    }
  }

  void judge_out_of_range(const kafka::TopicPartition& tp) {
    const std::int32_t p = tp.partition;
    // Commit what was read before the gap, so the stored offset is where
    // reading stopped and the gap is fenced on it.
    settle();
    if (!batch_.empty()) {
      flush();
      settle();
    }
    if (resetting_) return;  // that commit failed; recover() repositions everything
    const auto stored = book_.stored(p);
    // Not a structured binding: the lambdas below capture `low`, which
    // clang before 16 refuses for a binding.
    const auto marks = consumer_->watermarks(config_.kafka.topic, p, milliseconds(10000));
    const std::int64_t low = marks.first;
    const std::int64_t high = marks.second;
    const std::string where = tp_name(config_.kafka.topic, p);
    if (!stored || (*stored >= low && *stored <= high)) {
      // The log holds the position after all (a leader change raced the
      // fetch): read on from it.
      runtime::log_warn(component_, where + ": broker reported offset " +
                                        std::to_string(tp.offset) + " out of range, log is " +
                                        std::to_string(low) + ".." + std::to_string(high) +
                                        "; reading again from the stored position");
      reassign();
      return;
    }
    if (*stored > high) {
      halt(p, "offset_ahead",
           where + ": stored offset " + std::to_string(*stored) + " is past the log end " +
               std::to_string(high) +
               " (was the topic deleted and recreated, or truncated?). Not consuming this "
               "partition: reading from the log end would skip records, from the start would "
               "repeat them. Fix the stored offset in consumer_offsets (see "
               "docs/operations.md) and restart the member.");
      return;
    }
    if (!config_.skip_offset_gaps) {
      halt(p, "offset_gap",
           where + ": retention deleted offsets " + std::to_string(*stored) + ".." +
               std::to_string(low - 1) + " (" + std::to_string(low - *stored) +
               " record(s)) before this group read them. Not consuming this partition; "
               "MILLRACE_ON_OFFSET_GAP=skip records the range as lost and goes on.");
      return;
    }
    // Skip, in the open: the range is recorded as lost, fenced like a commit.
    if (!with_retry("record offset gap",
                    [&] { return batch_committer_->record_gap(p, *stored, low); })) {
      runtime::log_warn(component_, where + ": another member moved the offset first; rewinding");
      begin_reset();
      return;
    }
    book_.assign(p, low);
    probe_.set_position(p, low);
    bump([&](StreamStats& s) { s.lost += static_cast<std::uint64_t>(low - *stored); });
    probe_.lost(p, static_cast<std::uint64_t>(low - *stored));
    runtime::log_error(component_, where + ": retention deleted offsets " +
                                       std::to_string(*stored) + ".." + std::to_string(low - 1) +
                                       " before this group read them; recorded as lost "
                                       "(offset_gaps, outcome lost) and reading on from " +
                                       std::to_string(low));
    reassign();
  }

  // A partition stalled with nothing to explain it: not halted, no reset
  // under way (a database or dead-letter failure), no commit in flight. Its
  // fetching is stuck, so it is re-armed from the stored offsets; a stall the
  // log and the metric keep showing after that is not the consumer's.
  void rearm_stalled() {
    const auto stalled = probe_.take_stalled();
    if (stalled.empty() || resetting_) return;
    std::string names;
    for (const auto p : stalled) {
      if (book_.owns(p) && !halted_.contains(p)) names += " " + tp_name(config_.kafka.topic, p);
    }
    if (names.empty()) return;
    settle();
    if (!batch_.empty()) {
      flush();
      settle();
    }
    if (resetting_) return;  // the commit failed: the reset repositions everything
    runtime::log_warn(component_, "no progress on" + names + " with nothing in flight for " +
                                      std::to_string(config_.stall_timeout_s) +
                                      " s; re-assigning from the stored offsets");
    bump([](StreamStats& s) { ++s.rearms; });
    reassign();
  }

  // Where reading restarts from the stored offsets, what was read before
  // is no position any more.
  void forget_reads(const std::vector<std::int32_t>& partitions) {
    for (const auto p : partitions) reads_.erase(p);
    probe_.forget_reads(partitions);
  }

  // Every owned partition again from its stored offset (halted ones too:
  // their pause outlives the assignment). Only with the batch empty and no
  // commit in flight, so that the stored offsets are where reading resumes.
  void reassign() {
    std::vector<kafka::TopicPartition> positions;
    forget_reads(book_.partitions());
    for (const auto p : book_.partitions()) {
      positions.push_back(
          {config_.kafka.topic, p, book_.stored(p).value_or(kafka::kOffsetBeginning)});
    }
    consumer_->assign(positions);
  }

 private:
  struct RebalanceScope {
    explicit RebalanceScope(bool& flag) : flag(flag) { flag = true; }
    ~RebalanceScope() { flag = false; }
    RebalanceScope(const RebalanceScope&) = delete;
    RebalanceScope& operator=(const RebalanceScope&) = delete;
    bool& flag;
  };

  // Leaves the group without committing anything more, if run() did not
  // close the consumer itself: the failure (or stop) already decided that
  // what is uncommitted is replayed by the next owner.
  void abandon() {
    if (!consumer_ || closed_) return;
    abandoning_ = true;
    in_flight_.reset();
    book_.abandon();
    try {
      consumer_->close();
    } catch (const std::exception& e) {
      runtime::log_warn(component_, std::string("leaving the group: ") + e.what());
    } catch (const StopRequested&) {
    }
    closed_ = true;
  }

  void halt(std::int32_t partition, std::string_view reason, const std::string& text) {
    halted_.insert(partition);
    consumer_->pause({{config_.kafka.topic, partition, kafka::kOffsetInvalid}});
    probe_.halted(partition, reason);
    runtime::log_error(component_, text);
  }

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
    abandon();
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
        // Bounded connects, but no statement or lock timeout: a migration
        // may rewrite a large table, and it waits for its advisory lock.
        auto conn = pg::connect(config_.pg.url, config_.pg.schema, component_ + "-migrate",
                                config_.pg.connect_limits(), pg::SchemaSetup::kCreateIfMissing);
        const int applied = pg::migrate(*conn, config_.pg.schema);
        if (applied > 0) {
          runtime::log_info(component_, "applied " + std::to_string(applied) +
                                            " migration(s) to schema " + config_.pg.schema);
        }
      }
      batch_committer_->ensure_connected();
      batch_committer_->register_group(config_.kind);
      return 0;
    });
    consumer_->subscribe({config_.kafka.topic});
    runtime::log_info(component_,
                      "consuming " + config_.kafka.topic + " as group " + config_.group);

    while (!stop_requested_) {
      if (resetting_) {
        recover();
        continue;
      }
      const milliseconds timeout =
          std::clamp(seal_wait(), milliseconds(0), in_flight_ ? kSettlePoll : kPollInterval);
      if (auto msg = consumer_->poll(timeout)) {
        // A record that comes after the batch fell due starts the next one
        // (for the archiver: the next time window's file).
        if (!resetting_ && seal_wait() <= milliseconds(0)) {
          flush(RecordRef{msg->partition(), msg->offset()});
        }
        handle(*msg);
      }
      if (in_flight_ &&
          in_flight_->outcome.wait_for(milliseconds(0)) == std::future_status::ready) {
        settle();
      }
      commit_kafka(false);
      report_reads();
      rearm_stalled();
      if (!resetting_ && seal_wait() <= milliseconds(0)) flush();
      report_idle();
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
    closed_ = true;
    runtime::log_info(component_,
                      "stopped after consuming " + std::to_string(stats().consumed) + " record(s)");
  }

  // How far each owned, unhalted partition was read: the consumer's
  // position, or the stored offset where that is further (nothing fetched
  // yet since an assign).
  std::map<std::int32_t, std::int64_t> read_positions() {
    std::vector<kafka::TopicPartition> asked;
    for (const auto p : book_.partitions()) {
      if (!halted_.contains(p)) asked.push_back({config_.kafka.topic, p, kafka::kOffsetInvalid});
    }
    std::map<std::int32_t, std::int64_t> out;
    if (asked.empty()) return out;
    for (const auto& tp : consumer_->positions(asked)) {
      std::int64_t at = book_.resume_offset(tp.partition).value_or(0);
      if (tp.offset >= 0) at = std::max(at, tp.offset);
      out[tp.partition] = at;
    }
    return out;
  }

  // Handler::idle(): only while every handled record is committed.
  void report_idle() {
    if (!handler_.wants_read_to() || resetting_ || in_flight_ || !batch_.empty()) return;
    const auto t = Clock::now();
    if (t < idle_due_) return;
    idle_due_ = t + kIdleReportInterval;
    handler_.idle(read_positions());
  }

  // How long until the accumulated batch is due to be sealed: the handler
  // says, or else batch_size and batch_ms do. max() while it is empty.
  milliseconds seal_wait() const {
    if (batch_.empty()) return milliseconds::max();
    if (const auto handler_says = handler_.seal_in(*state_)) return *handler_says;
    if (batch_.consumed() >= static_cast<std::uint64_t>(config_.batch_size)) {
      return milliseconds(0);
    }
    return std::chrono::duration_cast<milliseconds>(batch_deadline_ - Clock::now());
  }

  // Tells the probe how far each partition was read, at most once a second:
  // reading is progress too, for batches that stay open for minutes.
  void report_reads() {
    if (reads_.empty()) return;
    const auto t = Clock::now();
    if (t < reads_due_) return;
    probe_.set_read(reads_);
    reads_.clear();
    reads_due_ = t + kReadReportInterval;
  }

  void handle(const kafka::Message& msg) {
    const std::int32_t partition = msg.partition();
    const std::int64_t offset = msg.offset();
    // A rebalance callback inside the poll that returned this message may have
    // begun a reset: until recover() re-assigns, every message is stale.
    if (resetting_) return;
    // After a re-assign or a rebalance librdkafka may still hand out a message
    // fetched before it; the stored offset (or the end of the batch being
    // committed) says whether it is ours to process.
    if (!book_.owns(partition)) return;
    if (const auto from = book_.resume_offset(partition); from && offset < *from) return;
    if (const auto next = batch_.next_offset(partition); next && offset < *next) return;

    if (batch_.empty()) batch_deadline_ = Clock::now() + milliseconds(config_.batch_ms);
    auto& progress = batch_.add(partition, offset, msg.timestamp_ms().value_or(-1));
    if (progress.consumed == 1) {
      progress.read_from = book_.resume_offset(partition).value_or(offset);
    }
    const std::uint64_t before = progress.tally.total();
    handler_.handle(msg, progress, *state_);
    reads_[partition] = offset + 1;
    if (progress.tally.total() != before + 1) {
      throw std::logic_error("handler counted " + std::to_string(progress.tally.total() - before) +
                             " outcomes for one record at " +
                             tp_name(config_.kafka.topic, partition) + "@" +
                             std::to_string(offset));
    }
  }

  // Seals the accumulated batch and commits it on another thread (the
  // handler's side effects first, then one PostgreSQL transaction with
  // offsets, rows and accounting) while this thread accumulates the next.
  // The commit before it is settled first: at most one is in flight, and
  // this batch's plan expects the offsets that one stored.
  //
  // `unhandled` is a record the consumer returned that belongs to the next
  // batch: the read_to() of this one stops before it.
  void flush(std::optional<RecordRef> unhandled = std::nullopt) {
    settle();
    if (resetting_ || batch_.empty()) return;  // a failed commit took this batch with it
    auto f = std::make_unique<InFlight>();
    f->plan = book_.plan(batch_);
    if (handler_.wants_read_to()) {
      auto read_to = read_positions();
      if (unhandled) {
        if (const auto it = read_to.find(unhandled->partition); it != read_to.end()) {
          it->second = std::min(it->second, unhandled->offset);
        }
      }
      batch_.set_read_to(std::move(read_to));
    }
    f->batch = std::exchange(batch_, Batch{});
    f->state = std::exchange(state_, handler_.open_batch());
    f->started = Clock::now();
    book_.begin_commit(f->plan);
    f->outcome = committer_.submit([this, f = f.get()] {
      handler_.before_commit(*f->state);
      CommitOutcome out{batch_committer_->commit(f->batch, *f->state, f->plan), {}};
      out.finished = Clock::now();
      if (out.result.fenced.empty()) {
        try {
          handler_.after_commit(f->batch, *f->state);
        } catch (const std::exception& e) {
          runtime::log_error(component_, std::string("after a committed batch: ") + e.what());
        }
      }
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
      const auto& fenced = outcome.result.fenced;
      if (!fenced.empty()) {
        // Another member stored newer offsets: ours would move lag tools back.
        kafka_pending_.clear();
        book_.abandon();
        bump([](StreamStats& s) { ++s.fenced; });
        probe_.fenced();
        std::string text = "commit refused: another member moved the stored offset of";
        for (const auto p : fenced) text += " " + tp_name(config_.kafka.topic, p);
        runtime::log_warn(component_,
                          text + "; rewinding to the stored offsets" + dropped_behind());
        begin_reset();
        return;
      }
      const auto plan = book_.committed();
      for (const auto& r : outcome.result.refused) {
        runtime::log_warn(component_,
                          "PostgreSQL refused " + tp_name(config_.kafka.topic, r.record.partition) +
                              "@" + std::to_string(r.record.offset) + " (SQLSTATE " + r.sqlstate +
                              ": " + r.message + "); set aside as rejected/db_refused");
      }
      bump([&](StreamStats& s) {
        s.refused += outcome.result.refused.size();
        ++s.batches;
        s.consumed += f->batch.consumed();
        for (const auto& [partition, progress] : f->batch.partitions()) {
          for (const auto& [key, n] : progress.tally.counts())
            s.outcomes[std::string(core::outcome_code(key.first))] += n;
        }
      });
      probe_.committed(f->batch,
                       std::chrono::duration<double>(outcome.finished - f->started).count());
      for (const auto& t : plan) {
        kafka_pending_[t.partition] = t.next;
        probe_.set_position(t.partition, t.next);
      }
      backoff_ = milliseconds(config_.retry.first_ms);
    } catch (const InfraError& e) {
      book_.abandon();
      probe_.pg_error(e.failure_class());
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
      offsets.push_back({config_.kafka.topic, partition, next});
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
      text += " " + tp_name(config_.kafka.topic, partition) + " offsets " +
              std::to_string(p.first_offset) + ".." + std::to_string(p.next_offset - 1);
    }
    return text;
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
    forget_reads(book_.partitions());
    batch_committer_->disconnect();
    // Stop fetching by assigning nothing, not by pausing: in librdkafka
    // 2.0.2 a resume takes its version barrier on this thread while the
    // re-assignment's fetch start takes a later one on librdkafka's main
    // thread; when the resume reaches the partition's queue after the fetch
    // start it is dropped as outdated, and the partition stays paused for
    // good (confluentinc/librdkafka#5591 describes the same race). Measured
    // with the mock cluster under load: pause, assign, resume left a
    // partition unread in 14 of 2,700 re-assignments; assign alone in 0 of
    // 2,400. Assignments are all ordered on librdkafka's main thread.
    // Inside a rebalance callback librdkafka sets the assignment itself when
    // the callback returns; messages read until recover() are dropped by
    // handle().
    if (!in_rebalance_) consumer_->assign({});
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
      const auto stored = batch_committer_->claim(book_.partitions());
      for (const auto& [p, offset] : stored) {
        book_.assign(p, offset);
        probe_.set_position(p, offset);
      }
      reassign();
      resetting_ = false;
      backoff_ = milliseconds(config_.retry.first_ms);
      runtime::log_info(component_, "resumed from stored offsets");
    } catch (const InfraError& e) {
      probe_.pg_error(e.failure_class());
      if (!e.retryable()) throw;
      bump([](StreamStats& s) { ++s.db_errors; });
      backoff_ = std::min(backoff_ * 2, milliseconds(config_.retry.max_ms));
      runtime::log_warn(component_, std::string(e.what()) + "; retrying in " +
                                        std::to_string(backoff_.count()) + " ms");
    }
  }

  // Runs f until it succeeds, backing off on retryable failures. Used where
  // there is no batch to drop (start-up, assignment).
  template <typename F>
  std::invoke_result_t<F> with_retry(std::string_view what, F&& f) {
    milliseconds wait(config_.retry.first_ms);
    for (;;) {
      try {
        return f();
      } catch (const InfraError& e) {
        probe_.pg_error(e.failure_class());
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
      wait = std::min(wait * 2, milliseconds(config_.retry.max_ms));
    }
  }

  StreamConfig config_;
  Handler& handler_;
  std::string component_;
  std::function<std::unique_ptr<detail::ConsumerPort>(kafka::RebalanceListener*)> make_consumer_;
  bool lag_;
  std::unique_ptr<detail::CommitPort> batch_committer_;
  std::unique_ptr<detail::ConsumerPort> consumer_;

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
  milliseconds backoff_;
  ConsumerProbe probe_;

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
    : TransactionalConsumer(config, handler, component, metrics,
                            detail::production_ports(config, handler, component)) {}

TransactionalConsumer::TransactionalConsumer(StreamConfig config, Handler& handler,
                                             std::string component, metrics::Registry& metrics,
                                             detail::Ports&& ports)
    : loop_(std::make_unique<Loop>(std::move(config), handler, std::move(component), metrics,
                                   std::move(ports))) {}
TransactionalConsumer::~TransactionalConsumer() {
  stop();
}
void TransactionalConsumer::start() {
  loop_->start();
}
void TransactionalConsumer::stop() {
  loop_->stop();
}
bool TransactionalConsumer::wait(milliseconds timeout) {
  return loop_->wait(timeout);
}
void TransactionalConsumer::rethrow_failure() {
  loop_->rethrow_failure();
}
StreamStats TransactionalConsumer::stats() const {
  return loop_->stats();
}

}  // namespace millrace::stream
