#include "millrace/webhooks/schedule.hpp"

#include <catch2/catch.hpp>

using namespace millrace::webhooks;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

TEST_CASE("the default schedule is Standard Webhooks': 7 retries over about 28 hours") {
  const auto s = parse_schedule(kDefaultSchedule);
  REQUIRE(s.delays.size() == 7);
  CHECK(s.delays.front() == 5s);
  CHECK(s.delays.back() == 10h);
  CHECK(total(s) == 5s + 5min + 30min + 2h + 5h + 10h + 10h);
}

TEST_CASE("schedules parse with every unit and refuse what is not one") {
  const auto s = parse_schedule("250ms, 2s,1m,1h,1d");
  CHECK(s.delays == std::vector<Millis>{250ms, 2s, 1min, 1h, 24h});
  CHECK_THROWS_WITH(parse_schedule("5s,,5m"), Contains("empty item"));
  CHECK_THROWS_WITH(parse_schedule("5"), Contains("no unit"));
  CHECK_THROWS_WITH(parse_schedule("5w"), Contains("has an unknown unit \"w\""));
  CHECK_THROWS_WITH(parse_schedule("soon"), Contains("not a duration"));
  CHECK_THROWS_WITH(parse_schedule(""), Contains("empty item"));
}

TEST_CASE("each failure waits its step of the schedule, within the jitter") {
  RetrySchedule s{{1000ms, 4000ms}, 0.2};
  const AttemptResult error{500, "boom", std::nullopt};
  CHECK(decide(error, 1, s, 0.5).delay == 1000ms);
  CHECK(decide(error, 1, s, 0.0).delay == 800ms);
  CHECK(decide(error, 1, s, 0.999999).delay == 1200ms);
  const auto second = decide(error, 2, s, 0.5);
  CHECK(second.verdict == Verdict::kRetry);
  CHECK(second.delay == 4000ms);
  CHECK_THAT(second.reason, Contains("HTTP 500") && Contains("boom"));
  const auto no_answer = decide({std::nullopt, "Connection refused", std::nullopt}, 1, s, 0.5);
  CHECK(no_answer.verdict == Verdict::kRetry);
  CHECK(no_answer.reason == "Connection refused");
}

TEST_CASE("after the last step the delivery fails for good") {
  RetrySchedule s{{1000ms, 4000ms}, 0.2};
  const auto d = decide({502, "", std::nullopt}, 3, s, 0.5);
  CHECK(d.verdict == Verdict::kFailed);
  CHECK_THAT(d.reason, Contains("attempt 3"));
  CHECK(decide({502, "", std::nullopt}, 1, RetrySchedule{{}, 0.2}, 0.5).verdict ==
        Verdict::kFailed);
}

TEST_CASE("2xx delivers, 410 disables, 3xx is a failure") {
  RetrySchedule s{{1000ms}, 0.2};
  CHECK(decide({200, "", std::nullopt}, 1, s, 0.5).verdict == Verdict::kDelivered);
  CHECK(decide({204, "", std::nullopt}, 2, s, 0.5).verdict == Verdict::kDelivered);
  CHECK(decide({410, "", std::nullopt}, 1, s, 0.5).verdict == Verdict::kDisable);
  CHECK(decide({301, "", std::nullopt}, 1, s, 0.5).verdict == Verdict::kRetry);
}

TEST_CASE("Retry-After is honoured on 429 and 503 only, and at most a day") {
  RetrySchedule s{{1000ms, 1000ms}, 0.2};
  CHECK(decide({429, "", 30000ms}, 1, s, 0.5).delay == 30000ms);
  CHECK(decide({503, "", 30000ms}, 1, s, 0.5).delay == 30000ms);
  CHECK(decide({500, "", 30000ms}, 1, s, 0.5).delay == 1000ms);
  // Shorter than the schedule's own wait: the schedule wins.
  CHECK(decide({429, "", 100ms}, 1, s, 0.5).delay == 1000ms);
  CHECK(decide({429, "", std::chrono::hours(24 * 30)}, 1, s, 0.5).delay == kMaxRetryAfter);
  // It is still an attempt of the schedule.
  CHECK(decide({429, "", 30000ms}, 3, s, 0.5).verdict == Verdict::kFailed);
}
