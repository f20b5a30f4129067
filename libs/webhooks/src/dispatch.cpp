#include "dispatch.hpp"

#include <algorithm>
#include <chrono>

#include "millrace/webhooks/signature.hpp"

namespace millrace::webhooks::detail {

Post make_post(const Claim& claim, const Delivery& delivery, std::int64_t timestamp,
               const std::string& user_agent) {
  Post post;
  post.url = claim.url;
  post.body = delivery.body;
  post.headers = {
      {"content-type", "application/json"},
      {"user-agent", user_agent},
      {"webhook-id", delivery.change_id},
      {"webhook-timestamp", std::to_string(timestamp)},
      {"webhook-signature",
       signature_header(claim.secrets, delivery.change_id, timestamp, delivery.body)},
  };
  return post;
}

ClaimResult deliver_claim(const Claim& claim, Queue& queue, Sender& sender,
                          const DispatchRules& rules, const std::atomic<bool>& stopping) {
  ClaimResult out;
  // Outcomes not stored yet: written together when the oldest has waited
  // `record_every`, before the next request, and at the claim's end.
  std::vector<Recorded> unrecorded;
  const auto lose_lease = [&] {
    // Another worker holds the queue and sends again what was not stored:
    // those attempts are not counted.
    out.lease_lost = true;
    out.attempts.resize(out.attempts.size() - std::min(out.attempts.size(), unrecorded.size()));
  };
  const auto store = [&](bool release) {
    if (!queue.record(claim, unrecorded, rules.lease_ms, release)) {
      lose_lease();
      return false;
    }
    unrecorded.clear();
    return true;
  };
  // The deliveries being sent: the claim's, then those read as the last
  // ones were stored.
  std::vector<Delivery> next;
  const std::vector<Delivery>* deliveries = &claim.deliveries;
  for (;;) {
    bool all_delivered = true;
    for (const auto& delivery : *deliveries) {
      if (stopping.load()) {
        all_delivered = false;
        break;
      }
      if (!unrecorded.empty() &&
          std::chrono::steady_clock::now() - unrecorded.front().answered >= rules.record_every &&
          !store(false)) {
        return out;
      }
      const auto post = make_post(claim, delivery, rules.now_s(), rules.user_agent);
      const auto started = std::chrono::steady_clock::now();
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
    const auto budget = rules.max_per_claim - static_cast<int>(out.attempts.size());
    if (!all_delivered || unrecorded.empty() || stopping.load()) break;
    if (budget <= 0) {
      out.budget_spent = true;
      break;
    }
    auto more = queue.record_and_continue(claim, unrecorded, rules.lease_ms, budget);
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
