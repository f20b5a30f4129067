#include "failures.hpp"

namespace millrace::webhooks::detail {

namespace {

void disable(pqxx::work& tx, std::int64_t endpoint, const std::string& reason) {
  tx.exec_params(
      "UPDATE webhook_endpoints SET active = false, disabled_at = now(), disabled_reason = $2, "
      "lease_token = NULL, lease_until = NULL, lease_pid = NULL WHERE id = $1",
      endpoint, reason);
}

}  // namespace

// The failing time starts `age_ms` ago unless it had (since the last
// delivery), and once it is longer than the endpoint's disable_after, the
// endpoint is disabled.
std::string endpoint_failed(pqxx::work& tx, std::int64_t endpoint, const Decision& decision,
                            std::int64_t age_ms, bool delivered_before) {
  // The delivery stays at the head of the queue, for when the endpoint is
  // enabled again.
  if (decision.verdict == Verdict::kDisable) disable(tx, endpoint, decision.reason);
  const auto row = tx.exec_params1(
      "UPDATE webhook_endpoints SET failing_since = CASE WHEN failing_since IS NULL OR $3 "
      "  THEN clock_timestamp() - $2 * interval '1 millisecond' ELSE failing_since END "
      "WHERE id = $1 RETURNING active AND disable_after > 0 AND "
      "  clock_timestamp() - failing_since >= disable_after * interval '1 second', "
      "  to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
      "  disable_after",
      endpoint, age_ms, delivered_before);
  if (!row[0].as<bool>()) return {};
  const std::string reason = "failing since " + row[1].as<std::string>() + ", longer than " +
                             row[2].as<std::string>() +
                             " s (its disable_after); last: " + decision.reason;
  disable(tx, endpoint, reason);
  return reason;
}

std::string attempt_failed(pqxx::work& tx, std::int64_t endpoint, std::int64_t delivery,
                           const Recorded& rec, std::int64_t age_ms, bool delivered_before) {
  // 0: no HTTP answer (NULL in last_status).
  const int status = rec.result.status.value_or(0);
  const std::string& error = rec.decision.reason;
  const std::string attempted =
      "last_attempt_at = clock_timestamp() - $4 * interval '1 millisecond', ";
  switch (rec.decision.verdict) {
    case Verdict::kDelivered:
      return {};  // stored with the others
    case Verdict::kRetry:
      tx.exec_params("UPDATE webhook_deliveries SET attempts = attempts + 1, " + attempted +
                         "last_status = NULLIF($2::int, 0), last_error = $3, "
                         "next_attempt_at = clock_timestamp() + $5 * interval '1 millisecond' "
                         "WHERE id = $1",
                     delivery, status, error, age_ms,
                     static_cast<std::int64_t>(rec.decision.delay.count()));
      break;
    case Verdict::kFailed:
      tx.exec_params("UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1, " +
                         attempted +
                         "last_status = NULLIF($2::int, 0), last_error = $3 "
                         "WHERE id = $1",
                     delivery, status, error, age_ms);
      break;
    case Verdict::kDisable:
      // The delivery stays at the head of the queue, for when the endpoint
      // is enabled again (endpoint_failed disables the endpoint).
      tx.exec_params("UPDATE webhook_deliveries SET attempts = attempts + 1, " + attempted +
                         "last_status = NULLIF($2::int, 0), last_error = $3 WHERE id = $1",
                     delivery, status, error, age_ms);
      break;
  }
  return endpoint_failed(tx, endpoint, rec.decision, age_ms, delivered_before);
}

}  // namespace millrace::webhooks::detail
