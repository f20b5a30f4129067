#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "millrace/core/decimal.hpp"
#include "millrace/core/event_type.hpp"
#include "millrace/core/timestamp.hpp"

namespace millrace::core {

// ---------------------------------------------------------------------------
// Windows. Event time is UTC and has no DST, so every hour and every day has
// the same length and a window is plain floor division.

inline constexpr std::int64_t kHourUs = 3'600'000'000;
inline constexpr std::int64_t kDayUs = 24 * kHourUs;

// Floors towards minus infinity, so a window is [start, start + width) for
// pre-epoch times too (events are 1970..9999, but nothing here depends on it).
constexpr TimestampUs window_floor(TimestampUs ts, std::int64_t width_us) {
  const TimestampUs rem = ts % width_us;
  return rem < 0 ? ts - rem - width_us : ts - rem;
}
constexpr TimestampUs hour_start(TimestampUs ts) {
  return window_floor(ts, kHourUs);
}
constexpr TimestampUs day_start(TimestampUs ts) {
  return window_floor(ts, kDayUs);
}

// ---------------------------------------------------------------------------
// Lateness. An event is late when it is older than the newest event time
// already seen on its partition by more than max_lateness_us: measured
// against event time, not the wall clock, so replaying last month's data is
// on time. An event is from the future when it is ahead of the wall clock by
// more than max_future_us (a producer with a broken clock). Both limits are
// inclusive: exactly at the limit is on time.
struct LatenessPolicy {
  std::int64_t max_lateness_us = 7 * kDayUs;
  std::int64_t max_future_us = kHourUs;
};

enum class TimeVerdict : std::uint8_t { kOnTime, kLate, kFuture };

// "on_time", "late", "future".
std::string_view to_string(TimeVerdict verdict);

// The "now" an event's time is judged against for being in the future: the
// Kafka timestamp of its record (the producer's clock when it sent it, or
// the broker's with message.timestamp.type=LogAppendTime), else the
// database's clock. Never a consumer's own clock: a member whose clock is
// slow would call current events future, and two members would judge a
// replayed record differently; a record's timestamp is the same for every
// member and every replay.
TimestampUs future_reference(std::optional<std::int64_t> record_timestamp_ms, TimestampUs db_now);

// kFuture if ts > now + max_future_us; else kLate if partition_max_ts is set
// and ts < *partition_max_ts - max_lateness_us; else kOnTime. Future wins over
// late. Computed without overflow for any inputs.
TimeVerdict judge_time(TimestampUs ts, std::optional<TimestampUs> partition_max_ts, TimestampUs now,
                       const LatenessPolicy& policy);

// What of a store event the aggregates read: the store event's sales
// (the aggregator's, from its declared record; the tests' reference,
// tests/reference, makes one of a compiled event).
struct Sale {
  TimestampUs ts = 0;
  EventType event_type = EventType::kSale;
  const std::string* category = nullptr;  // the event's, alive while it is folded
  std::int64_t sku = 0;
  Decimal price;
  std::int32_t qty = 0;
  Decimal discount;
  bool is_return = false;
};

}  // namespace millrace::core
