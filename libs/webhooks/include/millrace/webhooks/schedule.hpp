#pragma once

// What happens after each delivery attempt: pure, so the rules are
// unit-tested without a receiver (tests/schedule_test.cpp).

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::webhooks {

using Millis = std::chrono::milliseconds;

// The waits before each retry: after the first attempt fails, the next is
// delays[0] later, and so on; when they are used up the delivery fails for
// good. Each wait is stretched or shrunk by up to `jitter` (a fraction) at
// random, so retries of many deliveries do not arrive in step.
struct RetrySchedule {
  std::vector<Millis> delays;
  double jitter = 0.2;
};

// The default: the Standard Webhooks schedule (immediately, then 5 s, 5 min,
// 30 min, 2 h, 5 h, 10 h and 10 h later): 8 attempts over about 28 hours.
inline constexpr std::string_view kDefaultSchedule = "5s,5m,30m,2h,5h,10h,10h";

// "5s,5m,30m,2h": waits in core::parse_duration's grammar. Throws
// std::invalid_argument saying what is wrong.
RetrySchedule parse_schedule(std::string_view text);
// The whole span the schedule covers, without jitter.
Millis total(const RetrySchedule& schedule);

// What one attempt got back.
struct AttemptResult {
  std::optional<int> status;          // nullopt: no HTTP answer (refused, timed out, ...)
  std::string error;                  // why there was no answer, or the answer's first words
  std::optional<Millis> retry_after;  // the answer's Retry-After, if any
};

enum class Verdict {
  kDelivered,  // 2xx
  kRetry,      // try again after `delay`
  kFailed,     // the schedule is used up: kept as failed, for replay
  kDisable,    // 410 Gone: the endpoint is disabled; the delivery waits for it
};
inline constexpr std::size_t kVerdictCount = 4;

struct Decision {
  Verdict verdict = Verdict::kRetry;
  Millis delay{0};
  std::string reason;  // for last_error and logs
};

// The longest Retry-After honoured: a receiver cannot park a queue for
// longer than a day with one answer.
inline constexpr Millis kMaxRetryAfter = std::chrono::hours(24);

// The decision after an attempt, `attempts` counting it (1 for the first).
// `unit_random` in [0, 1) picks the jitter. Retry-After is honoured on 429
// and 503: the wait is at least what the receiver asked (up to
// kMaxRetryAfter).
Decision decide(const AttemptResult& result, int attempts, const RetrySchedule& schedule,
                double unit_random);

}  // namespace millrace::webhooks
