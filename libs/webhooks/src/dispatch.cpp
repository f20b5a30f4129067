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
  const auto store = [&](bool release) {
    if (!queue.record(claim, unrecorded, rules.lease_ms, release)) {
      // Another worker holds the queue and sends again what was not stored:
      // those attempts are not counted.
      out.lease_lost = true;
      out.attempts.resize(out.attempts.size() - std::min(out.attempts.size(), unrecorded.size()));
      return false;
    }
    unrecorded.clear();
    return true;
  };
  for (const auto& delivery : claim.deliveries) {
    if (stopping.load()) break;
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
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    out.attempts.push_back({decision.verdict, seconds, wall_s - delivery.committed_s});
    if (decision.verdict != Verdict::kDelivered) break;
  }
  store(true);
  return out;
}

}  // namespace millrace::webhooks::detail
