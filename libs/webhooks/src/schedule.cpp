#include "millrace/webhooks/schedule.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "millrace/core/values.hpp"

namespace millrace::webhooks {

RetrySchedule parse_schedule(std::string_view text) {
  RetrySchedule schedule;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find(',', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(pos, end - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) {
      throw std::invalid_argument("the retry schedule \"" + std::string(text) +
                                  "\" has an empty item: give waits such as 5s,5m,30m");
    }
    schedule.delays.push_back(core::parse_duration(item));
    pos = end + 1;
  }
  if (schedule.delays.size() > 50) {
    throw std::invalid_argument("the retry schedule has more than 50 waits");
  }
  return schedule;
}

Millis total(const RetrySchedule& schedule) {
  Millis sum{0};
  for (const auto d : schedule.delays) sum += d;
  return sum;
}

Decision decide(const AttemptResult& result, int attempts, const RetrySchedule& schedule,
                double unit_random) {
  const std::string what = result.status ? "HTTP " + std::to_string(*result.status) +
                                               (result.error.empty() ? "" : ": " + result.error)
                                         : result.error;
  if (result.status && *result.status >= 200 && *result.status < 300) {
    return {Verdict::kDelivered, Millis(0), what};
  }
  if (result.status && *result.status == 410) {
    return {Verdict::kDisable, Millis(0), "the receiver answered 410 Gone"};
  }
  if (attempts < 1 || static_cast<std::size_t>(attempts) > schedule.delays.size()) {
    return {Verdict::kFailed, Millis(0),
            what + " (attempt " + std::to_string(attempts) + ", the last the schedule allows)"};
  }
  const auto base = schedule.delays[static_cast<std::size_t>(attempts - 1)];
  const double stretch = 1.0 + schedule.jitter * (2.0 * unit_random - 1.0);
  auto delay = Millis(static_cast<std::int64_t>(
      std::llround(static_cast<double>(base.count()) * std::max(stretch, 0.0))));
  if (result.status && (*result.status == 429 || *result.status == 503) && result.retry_after) {
    delay = std::max(delay, std::min(*result.retry_after, kMaxRetryAfter));
  }
  return {Verdict::kRetry, delay, what};
}

}  // namespace millrace::webhooks
