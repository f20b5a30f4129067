#include "millrace/core/window.hpp"

#include "millrace/core/enum_names.hpp"

namespace millrace::core {

std::string_view to_string(TimeVerdict verdict) {
  static constexpr EnumNames<TimeVerdict, 3> kNames({{TimeVerdict::kOnTime, "on_time"},
                                                     {TimeVerdict::kLate, "late"},
                                                     {TimeVerdict::kFuture, "future"}});
  return kNames.name(verdict);
}

TimestampUs future_reference(std::optional<std::int64_t> record_timestamp_ms, TimestampUs db_now) {
  if (record_timestamp_ms && *record_timestamp_ms >= 0) return *record_timestamp_ms * 1000;
  return db_now;
}

TimeVerdict judge_time(TimestampUs ts, std::optional<TimestampUs> partition_max_ts, TimestampUs now,
                       const LatenessPolicy& policy) {
  // In 128 bits so that no policy value, however large, overflows.
  if (Int128{ts} > Int128{now} + policy.max_future_us) return TimeVerdict::kFuture;
  if (partition_max_ts && Int128{ts} < Int128{*partition_max_ts} - policy.max_lateness_us) {
    return TimeVerdict::kLate;
  }
  return TimeVerdict::kOnTime;
}

}  // namespace millrace::core
