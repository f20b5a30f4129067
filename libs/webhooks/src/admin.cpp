#include "millrace/webhooks/admin.hpp"

#include <algorithm>
#include <sstream>

#include "millrace/pg/array.hpp"
#include "millrace/webhooks/guard.hpp"
#include "millrace/webhooks/signature.hpp"

namespace millrace::webhooks {

namespace {

void require_endpoint(pqxx::work& tx, std::int64_t id) {
  if (tx.exec_params("SELECT 1 FROM webhook_endpoints WHERE id = $1", id).empty()) {
    throw std::invalid_argument("no webhook endpoint " + std::to_string(id));
  }
}

// NULL for "every": an empty list.
std::optional<std::string> array_or_null(const std::vector<std::string>& items) {
  if (items.empty()) return std::nullopt;
  pg::ArrayLiteral a;
  for (const auto& i : items) a.add(i);
  return a.take();
}

}  // namespace

AddedEndpoint add_endpoint(pqxx::connection& connection, const NewEndpoint& e, bool allow_private) {
  check_endpoint_url(e.url, allow_private);
  for (const auto& op : e.ops) {
    if (op != "c" && op != "u" && op != "d" && op != "r" && op != "t" && op != "e" && op != "g") {
      throw std::invalid_argument("operation \"" + op +
                                  "\" is none of c (insert), u (update), d (delete), r "
                                  "(snapshot or backfill row), t (truncate), e (backfill end), "
                                  "g (gap)");
    }
  }
  if (e.ordering != "commit" && e.ordering != "key") {
    throw std::invalid_argument("ordering \"" + e.ordering +
                                "\" is neither commit (every change in commit order) nor key "
                                "(commit order within each row's key)");
  }
  AddedEndpoint added;
  added.secret = e.secret.empty() ? new_secret() : e.secret;
  if (!is_secret(added.secret)) {
    throw std::invalid_argument(
        "the secret must be \"whsec_\" followed by the base64 of 16 to 64 "
        "bytes (leave it out to get a new one)");
  }
  pqxx::work tx(connection);
  const auto tables = array_or_null(e.tables);
  const auto ops = array_or_null(e.ops);
  added.id = tx.exec_params1(
                   "INSERT INTO webhook_endpoints (url, description, secret, tables, ops, "
                   "ordering) VALUES ($1, $2, $3, $4::text[], $5::text[], $6) RETURNING id",
                   e.url, e.description, added.secret, tables, ops, e.ordering)[0]
                 .as<std::int64_t>();
  tx.commit();
  return added;
}

std::string list_endpoints(pqxx::connection& connection) {
  pqxx::work tx(connection);
  const auto rows = tx.exec(
      "SELECT e.id, CASE WHEN e.active THEN 'active' ELSE 'disabled' END, "
      "  count(d.id) FILTER (WHERE d.status = 'pending'), "
      "  count(d.id) FILTER (WHERE d.status = 'failed'), "
      "  coalesce(array_to_string(e.tables, ','), '*'), coalesce(array_to_string(e.ops, ','), "
      "'*'), e.url, coalesce(e.disabled_reason, ''), e.description, "
      "  previous_secret_until > now(), e.ordering "
      "FROM webhook_endpoints e "
      "LEFT JOIN webhook_deliveries d ON d.endpoint_id = e.id AND d.status <> 'delivered' "
      "GROUP BY e.id ORDER BY e.id");
  std::ostringstream out;
  out << "id\tstate\tpending\tfailed\ttables\tops\torder\turl\n";
  for (const auto& r : rows) {
    out << r[0].c_str() << '\t' << r[1].c_str() << '\t' << r[2].c_str() << '\t' << r[3].c_str()
        << '\t' << r[4].c_str() << '\t' << r[5].c_str() << '\t' << r[10].c_str() << '\t'
        << r[6].c_str();
    if (!std::string(r[8].c_str()).empty()) out << "\t(" << r[8].c_str() << ')';
    if (!std::string(r[7].c_str()).empty()) out << "\tdisabled: " << r[7].c_str();
    if (!r[9].is_null() && r[9].as<bool>()) out << "\t(previous secret still valid)";
    out << '\n';
  }
  return out.str();
}

void set_active(pqxx::connection& connection, std::int64_t endpoint, bool active,
                const std::string& reason) {
  pqxx::work tx(connection);
  require_endpoint(tx, endpoint);
  if (active) {
    tx.exec_params(
        "UPDATE webhook_endpoints SET active = true, disabled_reason = NULL, disabled_at = NULL "
        "WHERE id = $1",
        endpoint);
  } else {
    tx.exec_params(
        "UPDATE webhook_endpoints SET active = false, disabled_at = now(), "
        "disabled_reason = $2 WHERE id = $1",
        endpoint, reason.empty() ? std::string("disabled by an operator") : reason);
  }
  tx.commit();
}

std::string rotate_secret(pqxx::connection& connection, std::int64_t endpoint,
                          std::chrono::seconds overlap, const std::string& secret) {
  const std::string fresh = secret.empty() ? new_secret() : secret;
  if (!is_secret(fresh)) {
    throw std::invalid_argument(
        "the secret must be \"whsec_\" followed by the base64 of 16 to 64 "
        "bytes (leave it out to get a new one)");
  }
  pqxx::work tx(connection);
  require_endpoint(tx, endpoint);
  tx.exec_params(
      "UPDATE webhook_endpoints SET previous_secret = secret, secret = $2, "
      "previous_secret_until = now() + $3 * interval '1 second' WHERE id = $1",
      endpoint, fresh, static_cast<std::int64_t>(overlap.count()));
  tx.commit();
  return fresh;
}

std::string list_deliveries(pqxx::connection& connection, std::optional<std::int64_t> endpoint,
                            bool failed_only, std::int64_t limit) {
  pqxx::work tx(connection);
  const auto rows = tx.exec_params(
      "SELECT id, endpoint_id, change_id, status, attempts, "
      "  to_char(enqueued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
      "  coalesce(last_status::text, '-'), coalesce(last_error, '') "
      "FROM webhook_deliveries "
      "WHERE ($1::bigint IS NULL OR endpoint_id = $1) AND (NOT $2 OR status = 'failed') "
      "ORDER BY id DESC LIMIT $3",
      endpoint, failed_only, limit);
  std::ostringstream out;
  out << "id\tendpoint\tchange\tstatus\tattempts\tenqueued\tlast_status\tlast_error\n";
  for (const auto& r : rows) {
    for (int i = 0; i < 8; ++i) out << (i ? "\t" : "") << r[i].c_str();
    out << '\n';
  }
  return out.str();
}

std::int64_t replay_failed(pqxx::connection& connection, std::int64_t endpoint,
                           const std::optional<std::string>& since) {
  pqxx::work tx(connection);
  require_endpoint(tx, endpoint);
  const auto n = tx.exec_params(
                       "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, "
                       "next_attempt_at = now() "
                       "WHERE endpoint_id = $1 AND status = 'failed' "
                       "AND ($2::timestamptz IS NULL OR enqueued_at >= $2::timestamptz)",
                       endpoint, since)
                     .affected_rows();
  tx.commit();
  return static_cast<std::int64_t>(n);
}

}  // namespace millrace::webhooks
