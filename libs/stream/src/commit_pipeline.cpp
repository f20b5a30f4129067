// The commit pipeline: a sealed batch committed on the commit thread while
// the loop accumulates the next, its outcome applied back on the loop thread,
// and the offsets PostgreSQL stored handed on to Kafka for lag tools.
#include <algorithm>
#include <atomic>
#include <exception>
#include <string>
#include <utility>

#include "loop.hpp"

namespace millrace::stream {

using core::FailureClass;
using core::InfraError;
using detail::tp_name;
using std::chrono::milliseconds;

namespace {

// Kafka's committed offsets only inform lag tools (PostgreSQL holds the
// position), so they go at most this often, not after every batch: with
// small batches, one OffsetCommit per batch per worker loads the broker that
// the producers append to, and their latency shows it.
constexpr milliseconds kKafkaCommitInterval{1000};

// However a commit ends, the loop hears of it at once: destroyed as the
// commit's function returns or throws, before its future is ready.
class TellLoop {
 public:
  TellLoop(std::atomic<bool>& finishing, detail::ConsumerPort& consumer)
      : finishing_(finishing), consumer_(consumer) {}
  ~TellLoop() {
    finishing_.store(true);
    consumer_.wake();
  }
  TellLoop(const TellLoop&) = delete;
  TellLoop& operator=(const TellLoop&) = delete;

 private:
  std::atomic<bool>& finishing_;
  detail::ConsumerPort& consumer_;
};

}  // namespace

// Seals the accumulated batch and commits it on another thread (the
// handler's side effects first, then one PostgreSQL transaction with
// offsets, rows and accounting) while this thread accumulates the next.
// The commit before it is settled first: at most one is in flight, and
// this batch's plan expects the offsets that one stored.
//
// `unhandled` is a record the consumer returned that belongs to the next
// batch: the read_to() of this one stops before it.
void TransactionalConsumer::Loop::flush(std::optional<RecordRef> unhandled) {
  settle();
  if (resetting_ || batch_.empty()) return;  // a failed commit took this batch with it
  auto f = std::make_unique<InFlight>();
  f->plan = book_.plan(batch_);
  if (watches_ != nullptr) {
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
    const TellLoop finished{f->finishing, *consumer_};
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
void TransactionalConsumer::Loop::settle() {
  if (!in_flight_) return;
  const auto f = std::move(in_flight_);
  try {
    const auto outcome = f->outcome.get();
    if (!outcome.result.fenced.empty()) {
      settle_fenced(outcome.result.fenced);
      return;
    }
    settle_committed(*f, outcome);
  } catch (const InfraError& e) {
    book_.abandon();
    probe_.pg_error(e.failure_class());
    if (e.failure_class() == FailureClass::kFatal) throw;
    if (e.failure_class() == FailureClass::kPoison) {
      // Handlers validate before writing; a refusal here means the contract
      // and the tables disagree, which needs a human.
      throw InfraError(FailureClass::kFatal, std::string("PostgreSQL refused a batch: ") +
                                                 e.what() + " (" + describe_batch(f->batch) + ")");
    }
    bump([](StreamStats& s) { ++s.db_errors; });
    runtime::log_warn(component_, std::string(e.what()) + "; pausing and retrying (" +
                                      describe_batch(f->batch) + dropped_behind() + ")");
    begin_reset();
  }
}

// Another member stored newer offsets for `fenced`: nothing committed.
void TransactionalConsumer::Loop::settle_fenced(const std::vector<std::int32_t>& fenced) {
  // Our offsets would move lag tools back.
  kafka_pending_.clear();
  book_.abandon();
  bump([](StreamStats& s) { ++s.fenced; });
  probe_.fenced();
  std::string text = "commit refused: another member moved the stored offset of";
  for (const auto p : fenced) text += " " + tp_name(config_.kafka.topic, p);
  runtime::log_warn(component_, text + "; rewinding to the stored offsets" + dropped_behind());
  begin_reset();
}

void TransactionalConsumer::Loop::settle_committed(const InFlight& f,
                                                   const CommitOutcome& outcome) {
  const auto plan = book_.committed();
  for (const auto& r : outcome.result.refused) {
    runtime::log_warn(component_, "PostgreSQL refused " +
                                      tp_name(config_.kafka.topic, r.record.partition) + "@" +
                                      std::to_string(r.record.offset) + " (SQLSTATE " + r.sqlstate +
                                      ": " + r.message + "); set aside as rejected/db_refused");
  }
  bump([&](StreamStats& s) {
    s.refused += outcome.result.refused.size();
    ++s.batches;
    s.consumed += f.batch.consumed();
    for (const auto& [partition, progress] : f.batch.partitions()) {
      for (const auto& [key, n] : progress.tally.counts())
        s.outcomes[std::string(core::outcome_code(key.first))] += n;
    }
  });
  const double seconds = std::chrono::duration<double>(outcome.finished - f.started).count();
  probe_.committed(f.batch, seconds);
  if (runtime::logs(runtime::Level::kDebug)) {
    runtime::log_debug(component_, "committed a batch of " + std::to_string(f.batch.consumed()) +
                                       " record(s) in " +
                                       std::to_string(static_cast<long long>(seconds * 1000)) +
                                       " ms (" + describe_batch(f.batch) + ")");
  }
  for (const auto& t : plan) {
    kafka_pending_[t.partition] = t.next;
    probe_.set_position(t.partition, t.next);
  }
  backoff_.reset();
}

// Commits the batch in flight and the one accumulated, and waits for both:
// before partitions change hands or are read again from the stored offsets,
// and at shutdown. After a failed commit there is nothing left to commit.
void TransactionalConsumer::Loop::drain() {
  settle();
  if (!resetting_ && !batch_.empty()) {
    flush();
    settle();
  }
}

// The batch that accumulated while a failed commit ran goes with it.
std::string TransactionalConsumer::Loop::dropped_behind() const {
  if (batch_.empty()) return "";
  return "; dropping the " + std::to_string(batch_.consumed()) + " record(s) accumulated behind it";
}

std::string TransactionalConsumer::Loop::describe_batch(const Batch& batch) const {
  std::string text = "batch";
  for (const auto& [partition, p] : batch.partitions()) {
    text += " " + tp_name(config_.kafka.topic, partition) + " offsets " +
            std::to_string(p.first_offset) + ".." + std::to_string(p.next_offset - 1);
  }
  return text;
}

// Hands the offsets PostgreSQL stored since the last call to Kafka, when
// kKafkaCommitInterval has passed by `now`, or when `force` says so
// (revoke, shutdown).
void TransactionalConsumer::Loop::commit_kafka(bool force, Clock::time_point now) {
  if (kafka_pending_.empty()) return;
  if (!force && now < kafka_commit_due_) return;
  std::vector<kafka::TopicPartition> offsets;
  for (const auto& [partition, next] : kafka_pending_) {
    offsets.push_back({config_.kafka.topic, partition, next});
  }
  kafka_pending_.clear();
  kafka_commit_due_ = now + kKafkaCommitInterval;
  consumer_->commit_async(offsets);
}

}  // namespace millrace::stream
