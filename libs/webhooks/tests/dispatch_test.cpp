#include "dispatch.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <deque>
#include <map>

#include "millrace/webhooks/signature.hpp"
#include "scripted_sender.hpp"

using namespace millrace::webhooks;
using namespace millrace::webhooks::detail;
using namespace std::chrono_literals;

namespace {

class FakeQueue final : public Queue {
 public:
  std::vector<std::pair<std::int64_t, Verdict>> recorded;
  std::vector<std::size_t> transactions;  // outcomes per record() call
  bool lease_held = true;
  int released = 0;
  // What the queue holds after the claim's deliveries, in order: read by
  // record_and_continue(), up to its `max` at a time.
  std::deque<Delivery> pending;
  std::vector<int> continue_max;  // each record_and_continue()'s `max`
  // Lost at this record_and_continue() call (1: the first), not before.
  std::size_t lease_lost_at_continue = 0;
  std::optional<Claim> claim(std::int64_t, int) override { return std::nullopt; }
  // The rate limiter's state each store brought.
  std::vector<RateWait> rates;
  // A failure stored disables the endpoint, saying this.
  std::string disables;
  Stored record(const Claim&, std::span<const Recorded> rs, std::int64_t, bool release,
                RateWait rate) override {
    if (!lease_held) return {};
    store(rs);
    rates.push_back(rate);
    if (release) ++released;
    const bool failed = std::any_of(rs.begin(), rs.end(), [](const Recorded& r) {
      return r.decision.verdict != Verdict::kDelivered;
    });
    return {true, failed ? disables : ""};
  }
  std::optional<std::vector<Delivery>> record_and_continue(const Claim&,
                                                           std::span<const Recorded> rs,
                                                           std::int64_t, int max,
                                                           RateWait rate) override {
    rates.push_back(rate);
    continue_max.push_back(max);
    if (continue_max.size() == lease_lost_at_continue) lease_held = false;
    if (!lease_held) return std::nullopt;
    for (const auto& r : rs) REQUIRE(r.decision.verdict == Verdict::kDelivered);
    store(rs);
    std::vector<Delivery> next;
    while (!pending.empty() && std::cmp_less(next.size(), max)) {
      next.push_back(pending.front());
      pending.pop_front();
    }
    if (next.empty()) ++released;
    return next;
  }
  QueueStats stats() override { return {}; }
  std::int64_t prune_delivered(std::int64_t) override { return 0; }

 private:
  void store(std::span<const Recorded> rs) {
    for (const auto& r : rs) recorded.emplace_back(r.delivery->id, r.decision.verdict);
    transactions.push_back(rs.size());
  }
};

Delivery delivery_of(int i) {
  return {i, "change-" + std::to_string(i), "{\"n\":" + std::to_string(i) + "}", 0, 0};
}

const std::string kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

Claim claim_of(int deliveries) {
  Claim c;
  c.endpoint = 7;
  c.url = "https://hooks.example.com/in";
  c.secrets = {kSecret};
  c.lease = 42;
  for (int i = 1; i <= deliveries; ++i) c.deliveries.push_back(delivery_of(i));
  return c;
}

DispatchRules rules() {
  DispatchRules r;
  r.schedule = RetrySchedule{{1000ms, 2000ms}, 0.2};
  r.user_agent = "test";
  r.now_s = [] { return std::int64_t{1700000000}; };
  r.unit_random = [] { return 0.5; };
  r.pause = [](std::chrono::milliseconds) { return false; };
  r.keep_for = std::chrono::hours(1);  // a claim's age ends nothing here, but where set
  return r;
}

}  // namespace

TEST_CASE("a claim's deliveries go out in queue order, each signed, then the queue is released") {
  ScriptedSender sender;
  FakeQueue queue;
  std::atomic<bool> stopping{false};
  const auto claim = claim_of(3);
  const auto result = deliver_claim(claim, queue, sender, rules(), stopping);
  REQUIRE(sender.posts.size() == 3);
  CHECK(queue.recorded == std::vector<std::pair<std::int64_t, Verdict>>{{1, Verdict::kDelivered},
                                                                        {2, Verdict::kDelivered},
                                                                        {3, Verdict::kDelivered}});
  CHECK(queue.released == 1);
  CHECK(result.attempts.size() == 3);
  const auto& p = sender.posts[1];
  CHECK(p.url == claim.url);
  CHECK(p.body == "{\"n\":2}");
  std::map<std::string, std::string> h(p.headers.begin(), p.headers.end());
  CHECK(h["webhook-id"] == "change-2");
  CHECK(h["webhook-timestamp"] == "1700000000");
  CHECK(h["content-type"] == "application/json");
  CHECK(verify(h["webhook-signature"], kSecret, "change-2", 1700000000, p.body));
}

TEST_CASE("a failure holds the rest of the endpoint's queue back") {
  ScriptedSender sender;
  sender.answers = {{200, "", std::nullopt}, {500, "", std::nullopt}};
  FakeQueue queue;
  std::atomic<bool> stopping{false};
  deliver_claim(claim_of(4), queue, sender, rules(), stopping);
  CHECK(sender.posts.size() == 2);
  CHECK(queue.recorded == std::vector<std::pair<std::int64_t, Verdict>>{{1, Verdict::kDelivered},
                                                                        {2, Verdict::kRetry}});
  CHECK(queue.released == 1);
}

TEST_CASE("410 disables and stops, an exhausted delivery fails and lets the next go") {
  {
    ScriptedSender sender;
    sender.answers = {{410, "", std::nullopt}};
    FakeQueue queue;
    std::atomic<bool> stopping{false};
    deliver_claim(claim_of(2), queue, sender, rules(), stopping);
    CHECK(queue.recorded == std::vector<std::pair<std::int64_t, Verdict>>{{1, Verdict::kDisable}});
  }
  {
    auto claim = claim_of(2);
    claim.deliveries[0].attempts = 2;  // the schedule's two retries are spent
    ScriptedSender sender;
    sender.answers = {{500, "", std::nullopt}};
    FakeQueue queue;
    std::atomic<bool> stopping{false};
    deliver_claim(claim, queue, sender, rules(), stopping);
    // Failed for good is final: it is not the queue's head any more, but
    // this claim stops anyway and the next claim starts from delivery 2.
    CHECK(queue.recorded == std::vector<std::pair<std::int64_t, Verdict>>{{1, Verdict::kFailed}});
  }
}

TEST_CASE("quick deliveries are stored in one transaction with the release") {
  ScriptedSender sender;
  FakeQueue queue;
  std::atomic<bool> stopping{false};
  deliver_claim(claim_of(3), queue, sender, rules(), stopping);
  CHECK(queue.transactions == std::vector<std::size_t>{3});
  CHECK(queue.released == 1);

  SECTION("outcomes older than record_every are stored before the next request") {
    auto r = rules();
    r.record_every = 0ms;
    FakeQueue each;
    deliver_claim(claim_of(3), each, sender, r, stopping);
    CHECK(each.transactions == std::vector<std::size_t>{1, 1, 1});
    CHECK(each.released == 1);
  }
}

TEST_CASE("a lost lease stops the claim without releasing another worker's queue") {
  ScriptedSender sender;
  FakeQueue queue;
  queue.lease_held = false;
  std::atomic<bool> stopping{false};
  auto r = rules();
  SECTION("found before the next request") {
    r.record_every = 0ms;
    const auto result = deliver_claim(claim_of(3), queue, sender, r, stopping);
    CHECK(result.lease_lost);
    CHECK(sender.posts.size() == 1);
    CHECK(result.attempts.empty());
  }
  SECTION("found at the claim's end") {
    const auto result = deliver_claim(claim_of(3), queue, sender, r, stopping);
    CHECK(result.lease_lost);
    CHECK(sender.posts.size() == 3);
    CHECK(result.attempts.empty());  // not stored: another worker sends them again
  }
  CHECK(queue.released == 0);
}

TEST_CASE("a busy queue is kept: storing its deliveries reads the next ones") {
  ScriptedSender sender;
  FakeQueue queue;
  for (int i = 4; i <= 8; ++i) queue.pending.push_back(delivery_of(i));
  std::atomic<bool> stopping{false};
  auto r = rules();
  SECTION("until the queue is empty, which gives it up") {
    const auto result = deliver_claim(claim_of(3), queue, sender, r, stopping);
    REQUIRE(sender.posts.size() == 8);
    for (std::size_t i = 0; i < 8; ++i) {
      CHECK(sender.posts[i].body == "{\"n\":" + std::to_string(i + 1) + "}");
      CHECK(queue.recorded[i] == std::pair<std::int64_t, Verdict>{i + 1, Verdict::kDelivered});
    }
    // Three stores: each read what came next, the last read nothing.
    CHECK(queue.transactions == std::vector<std::size_t>{3, 5});
    CHECK(queue.continue_max == std::vector<int>{97, 92});
    CHECK(queue.released == 1);
    CHECK(result.continued == 1);
    CHECK_FALSE(result.budget_spent);
    CHECK(result.attempts.size() == 8);
  }
  SECTION("until the claim's budget is spent, which gives the queue up for the others") {
    r.max_per_claim = 5;
    const auto result = deliver_claim(claim_of(3), queue, sender, r, stopping);
    CHECK(sender.posts.size() == 5);
    CHECK(queue.continue_max == std::vector<int>{2});
    CHECK(queue.transactions == std::vector<std::size_t>{3, 2});
    CHECK(queue.released == 1);
    CHECK(result.budget_spent);
    CHECK(queue.pending.size() == 3);
  }
  SECTION("past the budget while another worker is idle to serve the others") {
    r.max_per_claim = 3;
    int asked = 0;
    r.others_served = [&] { return ++asked == 1; };  // idle once, then busy
    const auto result = deliver_claim(claim_of(2), queue, sender, r, stopping);
    // Two claimed and one read (the budget's first round), then three more
    // in a second round, which ends the claim with the others all busy.
    CHECK(sender.posts.size() == 6);
    CHECK(asked == 2);
    CHECK(queue.continue_max == std::vector<int>{1, 3});
    CHECK(queue.released == 1);
    CHECK(result.budget_spent);
    CHECK(queue.pending.size() == 1);
  }
  SECTION("but not past keep_for after the claim, however idle the others") {
    r.max_per_claim = 3;
    r.keep_for = 0ms;
    int asked = 0;
    r.others_served = [&] { return ++asked > 0; };
    const auto result = deliver_claim(claim_of(2), queue, sender, r, stopping);
    CHECK(sender.posts.size() == 3);
    CHECK(asked == 0);
    CHECK(queue.released == 1);
    CHECK(result.budget_spent);
  }
  SECTION("not past a failure, which is stored with the release") {
    sender.answers = {{200, "", std::nullopt},
                      {200, "", std::nullopt},
                      {200, "", std::nullopt},
                      {200, "", std::nullopt},
                      {500, "", std::nullopt}};
    const auto result = deliver_claim(claim_of(3), queue, sender, r, stopping);
    CHECK(sender.posts.size() == 5);
    CHECK(queue.recorded.back() == std::pair<std::int64_t, Verdict>{5, Verdict::kRetry});
    CHECK(queue.continue_max == std::vector<int>{97});
    CHECK(queue.released == 1);
    CHECK_FALSE(result.budget_spent);
  }
  SECTION("a lease lost as the deliveries are stored ends the claim, uncounted") {
    queue.lease_lost_at_continue = 1;
    const auto result = deliver_claim(claim_of(3), queue, sender, r, stopping);
    CHECK(result.lease_lost);
    CHECK(result.attempts.empty());
    CHECK(queue.recorded.empty());
    CHECK(queue.released == 0);
    CHECK(sender.posts.size() == 3);
  }
}

TEST_CASE("stopping ends a claim between requests") {
  ScriptedSender sender;
  FakeQueue queue;
  std::atomic<bool> stopping{true};
  deliver_claim(claim_of(3), queue, sender, rules(), stopping);
  CHECK(sender.posts.empty());
  CHECK(queue.released == 1);
}

TEST_CASE("a rotated endpoint's requests carry both signatures") {
  auto claim = claim_of(1);
  const auto fresh = new_secret();
  claim.secrets = {fresh, kSecret};
  const auto post = make_post(claim, claim.deliveries[0], 1700000000, rules());
  std::map<std::string, std::string> h(post.headers.begin(), post.headers.end());
  CHECK(verify(h["webhook-signature"], fresh, "change-1", 1700000000, post.body));
  CHECK(verify(h["webhook-signature"], kSecret, "change-1", 1700000000, post.body));
}

TEST_CASE("a rate-limited claim spaces its requests, and gives the queue up when the next is far") {
  ScriptedSender sender;
  FakeQueue queue;
  std::atomic<bool> stopping{false};
  auto claim = claim_of(20);
  claim.rate_limit = 10;  // one every 100 ms
  auto r = rules();
  r.max_rate_pause = 450ms;
  std::vector<std::chrono::milliseconds> waits;
  // Not slept: each wait is asked from the last request's turn on.
  r.pause = [&](std::chrono::milliseconds d) {
    waits.push_back(d);
    return false;
  };
  const auto result = deliver_claim(claim, queue, sender, r, stopping);
  // Turns at 0, 100, 200, 300 and 400 ms; the sixth, at 500, is further than
  // the pause allowed.
  CHECK(sender.posts.size() == 5);
  CHECK(result.paced);
  REQUIRE(waits.size() == 4);
  for (std::size_t i = 0; i < waits.size(); ++i) {
    CHECK(waits[i] > std::chrono::milliseconds(100 * (i + 1) - 20));
    CHECK(waits[i] <= std::chrono::milliseconds(100 * (i + 1)));
  }
  CHECK(queue.released == 1);
  // The next turn is stored with the outcomes, for the next claim.
  REQUIRE(!queue.rates.empty());
  REQUIRE(queue.rates.back().has_value());
  CHECK(*queue.rates.back() > 400ms);
  CHECK(*queue.rates.back() <= 500ms);
}

TEST_CASE("a claim without a rate limit leaves the limiter's state alone") {
  ScriptedSender sender;
  FakeQueue queue;
  std::atomic<bool> stopping{false};
  deliver_claim(claim_of(3), queue, sender, rules(), stopping);
  CHECK(sender.posts.size() == 3);
  REQUIRE(!queue.rates.empty());
  for (const auto& rate : queue.rates) CHECK(!rate.has_value());
}

TEST_CASE("a claim brings a rate limit's wait from the last one") {
  ScriptedSender sender;
  FakeQueue queue;
  std::atomic<bool> stopping{false};
  auto claim = claim_of(1);
  claim.rate_limit = 1;
  claim.rate_wait = 2000ms;  // beyond the pause: nothing is sent
  const auto result = deliver_claim(claim, queue, sender, rules(), stopping);
  CHECK(sender.posts.empty());
  CHECK(result.paced);
}

TEST_CASE("a failure that disables the endpoint for failing too long is reported") {
  ScriptedSender sender;
  sender.answers = {{500, "boom", std::nullopt}};
  FakeQueue queue;
  queue.disables = "failing since 2026-11-23T00:00:00Z, longer than 432000 s";
  std::atomic<bool> stopping{false};
  const auto result = deliver_claim(claim_of(2), queue, sender, rules(), stopping);
  CHECK(sender.posts.size() == 1);
  CHECK(result.auto_disabled == queue.disables);
}
