#include "dispatch.hpp"

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
  for (const auto& delivery : claim.deliveries) {
    if (stopping.load()) break;
    const auto post = make_post(claim, delivery, rules.now_s(), rules.user_agent);
    const auto started = std::chrono::steady_clock::now();
    const AttemptResult result = sender.post(post);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const Decision decision =
        decide(result, delivery.attempts + 1, rules.schedule, rules.unit_random());
    if (!queue.record(claim, {&delivery, result, decision}, rules.lease_ms)) {
      out.lease_lost = true;
      return out;
    }
    const double wall_s =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    out.attempts.push_back({decision.verdict, seconds, wall_s - delivery.committed_s});
    if (decision.verdict != Verdict::kDelivered) break;
  }
  queue.release(claim);
  return out;
}

}  // namespace millrace::webhooks::detail
