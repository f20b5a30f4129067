// The broker has no record where a partition was to be read: the loop
// commits what it read before, judges the stored offset against the log
// (out_of_range.hpp) and reads on, halts the partition, or records the gap
// as lost and reads on past it.
#include "out_of_range.hpp"

#include <string>

#include "loop.hpp"

namespace millrace::stream {

using core::InfraError;
using detail::OutOfRange;
using detail::tp_name;
using std::chrono::milliseconds;

OutOfRange detail::judge_out_of_range(std::optional<std::int64_t> stored, std::int64_t low,
                                      std::int64_t high, bool skip_gaps) {
  if (!stored || (*stored >= low && *stored <= high)) return OutOfRange::kInLog;
  if (*stored > high) return OutOfRange::kAhead;
  return skip_gaps ? OutOfRange::kSkipGap : OutOfRange::kGap;
}

void TransactionalConsumer::Loop::on_offset_out_of_range(const kafka::TopicPartition& tp) {
  const std::int32_t p = tp.partition;
  if (abandoning_ || resetting_ || !book_.owns(p) || halted_.contains(p)) return;
  try {
    resolve_out_of_range(tp);
  } catch (const InfraError& e) {
    if (!e.retryable()) throw;
    // The broker or PostgreSQL did not answer: the reset repositions every
    // partition from PostgreSQL, and the broker reports again if need be.
    runtime::log_warn(component_, tp_name(config_.kafka.topic, p) + ": " + e.what() +
                                      "; rewinding to the stored offsets");
    if (!resetting_) begin_reset();
  }
}

void TransactionalConsumer::Loop::resolve_out_of_range(const kafka::TopicPartition& tp) {
  const std::int32_t p = tp.partition;
  // Commit what was read before the gap, so the stored offset is where
  // reading stopped and the gap is fenced on it.
  drain();
  if (resetting_) return;  // that commit failed; recover() repositions everything
  const auto stored = book_.stored(p);
  const auto [low, high] = consumer_->watermarks(config_.kafka.topic, p, milliseconds(10000));
  const std::string where = tp_name(config_.kafka.topic, p);
  switch (
      detail::judge_out_of_range(stored, low, high, config_.on_offset_gap == OffsetGap::kSkip)) {
    case OutOfRange::kInLog:
      runtime::log_warn(component_, where + ": broker reported offset " +
                                        std::to_string(tp.offset) + " out of range, log is " +
                                        std::to_string(low) + ".." + std::to_string(high) +
                                        "; reading again from the stored position");
      reassign();
      return;
    case OutOfRange::kAhead:
      halt(p, "offset_ahead",
           where + ": stored offset " + std::to_string(*stored) + " is past the log end " +
               std::to_string(high) +
               " (was the topic deleted and recreated, or truncated?). Not consuming this "
               "partition: reading from the log end would skip records, from the start would "
               "repeat them. Fix the stored offset in consumer_offsets (see "
               "docs/operations.md) and restart the member.");
      return;
    case OutOfRange::kGap:
      halt(p, "offset_gap",
           where + ": retention deleted offsets " + std::to_string(*stored) + ".." +
               std::to_string(low - 1) + " (" + std::to_string(low - *stored) +
               " record(s)) before this group read them. Not consuming this partition; "
               "MILLRACE_ON_OFFSET_GAP=skip records the range as lost and goes on.");
      return;
    case OutOfRange::kSkipGap:
      skip_gap(p, *stored, low);
      return;
  }
}

// Skip, in the open: the range [stored, low) is recorded as lost, fenced
// like a commit.
void TransactionalConsumer::Loop::skip_gap(std::int32_t partition, std::int64_t stored,
                                           std::int64_t low) {
  const std::string where = tp_name(config_.kafka.topic, partition);
  if (!with_retry("record offset gap",
                  [&] { return batch_committer_->record_gap(partition, stored, low); })) {
    runtime::log_warn(component_, where + ": another member moved the offset first; rewinding");
    begin_reset();
    return;
  }
  book_.assign(partition, low);
  probe_.set_position(partition, low);
  bump([&](StreamStats& s) { s.lost += static_cast<std::uint64_t>(low - stored); });
  probe_.lost(partition, static_cast<std::uint64_t>(low - stored));
  runtime::log_error(component_, where + ": retention deleted offsets " + std::to_string(stored) +
                                     ".." + std::to_string(low - 1) +
                                     " before this group read them; recorded as lost "
                                     "(offset_gaps, outcome lost) and reading on from " +
                                     std::to_string(low));
  reassign();
}

// Paused, its offset untouched, until the member loses it or restarts.
void TransactionalConsumer::Loop::halt(std::int32_t partition, std::string_view reason,
                                       const std::string& text) {
  halted_.insert(partition);
  consumer_->pause({{config_.kafka.topic, partition, kafka::kOffsetInvalid}});
  probe_.halted(partition, reason, text);
  runtime::log_error(component_, text);
}

}  // namespace millrace::stream
