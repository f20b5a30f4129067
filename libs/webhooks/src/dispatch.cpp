#include "dispatch.hpp"

#include <algorithm>
#include <chrono>

#include "millrace/webhooks/signature.hpp"

namespace millrace::webhooks::detail {

Post make_post(const Claim& claim, const Delivery& delivery, std::int64_t timestamp,
               const DispatchRules& rules) {
  auto wire = render(claim.format, delivery.body, rules.source_prefix);
  Post post;
  post.url = claim.url;
  post.headers = std::move(wire.headers);
  post.headers.emplace_back("user-agent", rules.user_agent);
  post.headers.emplace_back("webhook-id", delivery.change_id);
  post.headers.emplace_back("webhook-timestamp", std::to_string(timestamp));
  post.headers.emplace_back("webhook-signature", signature_header(claim.secrets, delivery.change_id,
                                                                  timestamp, wire.body));
  post.body = std::move(wire.body);
  return post;
}

namespace {

// A claim's share of its endpoint's rate limit: a GCRA limiter without
// burst, whose state (when the next delivery may go) the claim brought and
// stores back with its outcomes.
class Pacer {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Pacer(const Claim& claim) {
    if (claim.rate_limit > 0) {
      interval_ = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(1.0 / claim.rate_limit));
      next_ = Clock::now() + claim.rate_wait;
    }
  }
  // How long until the next may go (zero: now); zero without a limit.
  Clock::duration wait() const {
    if (!next_) return Clock::duration::zero();
    return std::max(Clock::duration::zero(), *next_ - Clock::now());
  }
  // A request went out at `at`.
  void sent(Clock::time_point at) {
    if (next_) next_ = std::max(*next_, at) + interval_;
  }
  RateWait stored() const {
    if (!next_) return std::nullopt;
    return std::chrono::ceil<std::chrono::milliseconds>(wait());
  }

 private:
  std::optional<Clock::time_point> next_;
  Clock::duration interval_{};
};

}  // namespace

ClaimResult deliver_claim(const Claim& claim, Queue& queue, Sender& sender,
                          const DispatchRules& rules, const std::atomic<bool>& stopping) {
  ClaimResult out;
  const auto claimed_at = std::chrono::steady_clock::now();
  // Outcomes not stored yet: written together when the oldest has waited
  // `record_every`, before the next request, and at the claim's end.
  std::vector<Recorded> unrecorded;
  const auto lose_lease = [&] {
    // Another worker holds the queue and sends again what was not stored:
    // those attempts are not counted.
    out.lease_lost = true;
    out.attempts.resize(out.attempts.size() - std::min(out.attempts.size(), unrecorded.size()));
  };
  Pacer pacer(claim);
  const auto store = [&](bool release) {
    const auto stored = queue.record(claim, unrecorded, rules.lease_ms, release, pacer.stored());
    if (!stored.held) {
      lose_lease();
      return false;
    }
    if (!stored.auto_disabled.empty()) out.auto_disabled = stored.auto_disabled;
    unrecorded.clear();
    return true;
  };
  // The deliveries being sent: the claim's, then those read as the last
  // ones were stored.
  std::vector<Delivery> next;
  const std::vector<Delivery>* deliveries = &claim.deliveries;
  std::size_t budget_from = 0;  // attempts before the budget's current round
  for (;;) {
    bool all_delivered = true;
    for (const auto& delivery : *deliveries) {
      if (stopping.load() || std::chrono::steady_clock::now() >= rules.deadline) {
        all_delivered = false;
        break;
      }
      if (!unrecorded.empty() &&
          std::chrono::steady_clock::now() - unrecorded.front().answered >= rules.record_every &&
          !store(false)) {
        return out;
      }
      if (const auto wait = pacer.wait(); wait > wait.zero()) {
        // Not its turn yet: wait for it, or give the queue up until then.
        if (wait > rules.max_rate_pause) {
          out.paced = true;
          all_delivered = false;
          break;
        }
        if (rules.pause(std::chrono::ceil<std::chrono::milliseconds>(wait))) {
          all_delivered = false;
          break;
        }
      }
      const auto post = make_post(claim, delivery, rules.now_s(), rules);
      const auto started = std::chrono::steady_clock::now();
      pacer.sent(started);
      const AttemptResult result = sender.post(post);
      const auto answered = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(answered - started).count();
      const Decision decision =
          decide(result, delivery.attempts + 1, rules.schedule, rules.unit_random());
      unrecorded.push_back({&delivery, result, decision, answered});
      const double wall_s =
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
              .count();
      out.attempts.push_back({decision.verdict, seconds, wall_s - delivery.committed_s});
      if (decision.verdict != Verdict::kDelivered) {
        all_delivered = false;
        break;
      }
    }
    auto budget = rules.max_per_claim - static_cast<int>(out.attempts.size() - budget_from);
    if (!all_delivered || unrecorded.empty() || stopping.load()) break;
    if (budget <= 0) {
      if (!rules.others_served || std::chrono::steady_clock::now() - claimed_at >= rules.keep_for ||
          !rules.others_served()) {
        out.budget_spent = true;
        break;
      }
      budget_from = out.attempts.size();
      budget = rules.max_per_claim;
    }
    auto more =
        queue.record_and_continue(claim, unrecorded, rules.lease_ms, budget, pacer.stored());
    if (!more) {
      lose_lease();
      return out;
    }
    unrecorded.clear();             // before `next`, which it points into, is replaced
    if (more->empty()) return out;  // nothing more: the queue was given up
    ++out.continued;
    next = std::move(*more);
    deliveries = &next;
  }
  store(true);
  return out;
}

}  // namespace millrace::webhooks::detail
