// How far partitions were read, ahead of what is committed: reported to the
// probe (reading is progress, too), to a handler's read_to() when a batch is
// sealed and to its idle() while nothing is uncommitted.
#include <algorithm>

#include "loop.hpp"

namespace millrace::stream {

using std::chrono::milliseconds;

namespace {

// How often an idle loop tells a handler that wants it how far it has read.
constexpr milliseconds kIdleReportInterval{20};
// The probe learns how far partitions were read this often.
constexpr milliseconds kReadReportInterval{1000};

}  // namespace

// How far each owned, unhalted partition was read: the consumer's
// position, or the stored offset where that is further (nothing fetched
// yet since an assign).
std::map<std::int32_t, std::int64_t> TransactionalConsumer::Loop::read_positions() {
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

// Tells the probe how far each partition was read, at most once a second:
// reading is progress too, for batches that stay open for minutes.
void TransactionalConsumer::Loop::report_reads(Clock::time_point now) {
  if (reads_.empty() || now < reads_due_) return;
  probe_.set_read(reads_);
  reads_.clear();
  reads_due_ = now + kReadReportInterval;
}

// WatchesReads::idle(), and the probe's settled(): only while every handled
// record is committed.
void TransactionalConsumer::Loop::report_idle() {
  if (resetting_ || in_flight_ || !batch_.empty()) return;
  probe_.settled();
  if (watches_ == nullptr) return;
  const auto t = Clock::now();
  if (t < idle_due_) return;
  idle_due_ = t + kIdleReportInterval;
  watches_->idle(read_positions());
}

// Where reading restarts from the stored offsets, what was read before
// is no position any more.
// Fetching reached the partition's end: for the stall watch, the partition
// is read that far, past a trailing transaction marker that no record
// stands for.
void TransactionalConsumer::Loop::on_end_of_partition(const kafka::TopicPartition& tp) {
  if (resetting_ || !book_.owns(tp.partition) || tp.offset < 0) return;
  probe_.set_end(tp.partition, tp.offset);
}

void TransactionalConsumer::Loop::forget_reads(const std::vector<std::int32_t>& partitions) {
  for (const auto p : partitions) reads_.erase(p);
  probe_.forget_reads(partitions);
}

}  // namespace millrace::stream
