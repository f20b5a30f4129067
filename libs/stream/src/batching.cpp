// Batch assembly: a polled record into the batch (or dropped, when it is
// stale), and when the batch is due to be sealed.
#include <stdexcept>
#include <string>

#include "loop.hpp"
#include "millrace/runtime/log.hpp"

namespace millrace::stream {

using std::chrono::milliseconds;

void TransactionalConsumer::Loop::handle(const kafka::Message& msg) {
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

  if (batch_.empty()) {
    limits_ = config_.reloaded_limits.value_or({config_.batch_size, config_.batch_ms});
    batch_deadline_ = Clock::now() + milliseconds(limits_.ms);
  }
  auto& progress = batch_.add(partition, offset, msg.timestamp_ms().value_or(-1));
  if (progress.consumed == 1) {
    progress.read_from = book_.resume_offset(partition).value_or(offset);
  }
  const std::uint64_t before = progress.tally.total();
  try {
    handler_.handle(msg, progress, *state_);
  } catch (const core::InfraError& e) {
    if (!e.retryable()) throw;
    // Something the handler writes to before the commit failed (an archive
    // store that does not answer): the batch goes, and is read again from
    // the stored offsets after a backoff, as after a failed commit.
    probe_.pg_error(e.failure_class());
    bump([](StreamStats& s) { ++s.db_errors; });
    runtime::log_warn(component_, std::string(e.what()) + "; pausing and retrying (" +
                                      describe_batch(batch_) + ")");
    settle();
    if (!resetting_) begin_reset();
    return;
  }
  reads_[partition] = offset + 1;
  if (progress.tally.total() != before + 1) {
    throw std::logic_error("handler counted " + std::to_string(progress.tally.total() - before) +
                           " outcomes for one record at " +
                           detail::tp_name(config_.kafka.topic, partition) + "@" +
                           std::to_string(offset));
  }
}

// How long after `now` the accumulated batch is due to be sealed: the
// handler says, or else the batch's limits do. max() while it is empty.
milliseconds TransactionalConsumer::Loop::seal_wait(Clock::time_point now) const {
  if (batch_.empty()) return milliseconds::max();
  if (seals_ != nullptr) {
    if (const auto handler_says = seals_->seal_in(*state_, now)) return *handler_says;
  }
  if (batch_.consumed() >= static_cast<std::uint64_t>(limits_.size)) {
    return milliseconds(0);
  }
  return std::chrono::duration_cast<milliseconds>(batch_deadline_ - now);
}

}  // namespace millrace::stream
