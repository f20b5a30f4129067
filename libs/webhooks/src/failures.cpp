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

}  // namespace millrace::webhooks::detail
