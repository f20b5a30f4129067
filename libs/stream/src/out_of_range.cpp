// The broker has no record where a partition was to be read: the loop
// commits what it read before, judges the stored offset against the log
// (out_of_range.hpp) and reads on, halts the partition, or records the gap
// as lost and reads on past it.
#include "out_of_range.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include "loop.hpp"

namespace millrace::stream {

using core::InfraError;
using detail::OutOfRange;
using detail::tp_name;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kWatermarksWait{10000};
constexpr milliseconds kAheadRecheck{1000};

}  // namespace

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
  const auto [low, high] = consumer_->watermarks(config_.kafka.topic, p, kWatermarksWait);
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
    case OutOfRange::kAhead: {
      const auto end = confirm_ahead(p, *stored, high);
      if (!end) {
        reassign();
        return;
      }
      halt(p, "offset_ahead",
           where + ": stored offset " + std::to_string(*stored) + " is past the log end " +
               std::to_string(*end) +
               " (was the topic deleted and recreated, or truncated?). Not consuming this "
               "partition: reading from the log end would skip records, from the start would "
               "repeat them. Fix the stored offset in consumer_offsets (see "
               "docs/operations.md) and restart the member.");
      return;
    }
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

// A stored offset past the end the partition's leader reports: a topic
// deleted and recreated, or truncated; or a leader cut off from its peers,
// which answers with its own shorter log until it learns, seconds after it
// rejoins them, that it lost the partition (the nemesis saw the ends 2,334
// and 2,237 reported 10 ms apart). Asked again every second for
// config_.ahead_confirm: the end last reported when every answer put the
// stored offset past it; nullopt once one did not.
std::optional<std::int64_t> TransactionalConsumer::Loop::confirm_ahead(std::int32_t partition,
                                                                       std::int64_t stored,
                                                                       std::int64_t end) {
  const std::string where = tp_name(config_.kafka.topic, partition);
  runtime::log_warn(
      component_,
      where + ": stored offset " + std::to_string(stored) + " is past the log end " +
          std::to_string(end) + " the partition's leader reports; asking again for " +
          std::to_string(config_.ahead_confirm.count()) +
          " ms before halting it (a leader cut off from its peers answers so until it learns "
          "it lost the partition)");
  const auto until = Clock::now() + config_.ahead_confirm;
  for (auto now = Clock::now(); now < until; now = Clock::now()) {
    const auto wait = std::min(kAheadRecheck, std::chrono::ceil<milliseconds>(until - now));
    if (worker_.pause(wait)) throw runtime::Stopped{};
    const auto [low, high] = consumer_->watermarks(config_.kafka.topic, partition, kWatermarksWait);
    if (detail::judge_out_of_range(stored, low, high, false) != OutOfRange::kAhead) {
      runtime::log_warn(component_, where + ": the log is now reported as " + std::to_string(low) +
                                        ".." + std::to_string(high) +
                                        "; reading again from the stored position");
      return std::nullopt;
    }
    end = high;
  }
  return end;
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
