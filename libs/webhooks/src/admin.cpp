#include "millrace/webhooks/admin.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "filter.hpp"
#include "millrace/pg/array.hpp"
#include "millrace/pg/row.hpp"
#include "millrace/webhooks/guard.hpp"
#include "millrace/webhooks/signature.hpp"
#include "wire.hpp"

namespace millrace::webhooks {

namespace {

void require_endpoint(pqxx::work& tx, std::int64_t id) {
  if (tx.exec_params("SELECT 1 FROM webhook_endpoints WHERE id = $1", id).empty()) {
    throw NotFound("no webhook endpoint " + std::to_string(id));
  }
}

// NULL for "every": an empty list.
std::optional<std::string> array_or_null(const std::vector<std::string>& items) {
  if (items.empty()) return std::nullopt;
  pg::ArrayLiteral a;
  for (const auto& i : items) a.add(i);
  return a.take();
}

void check_ops(const std::vector<std::string>& ops) {
  for (const auto& op : ops) {
    if (op != "c" && op != "u" && op != "d" && op != "r" && op != "t" && op != "e" && op != "g") {
      throw std::invalid_argument("operation \"" + op +
                                  "\" is none of c (insert), u (update), d (delete), r "
                                  "(snapshot or backfill row), t (truncate), e (backfill end), "
                                  "g (gap)");
    }
  }
}

void check_ordering(const std::string& ordering) {
  if (ordering != "commit" && ordering != "key") {
    throw std::invalid_argument("ordering \"" + ordering +
                                "\" is neither commit (every change in commit order) nor key "
                                "(commit order within each row's key)");
  }
}

void check_format(const std::string& format) {
  if (!detail::format_named(format)) {
    throw std::invalid_argument("format \"" + format +
                                "\" is none of standard, cloudevents-structured, "
                                "cloudevents-binary");
  }
}

// The filter as stored: Event Grid's filter object, canonical; NULL for none.
std::optional<std::string> stored_filter(const std::string& filter) {
  if (filter.empty()) return std::nullopt;
  try {
    return detail::Filter::parse(filter).canonical_json();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("filter: ") + e.what());
  }
}

// NULL for no limit.
std::optional<double> stored_rate(double rate) {
  if (!std::isfinite(rate) || rate < 0) {
    throw std::invalid_argument("rate limit must be a number of deliveries per second, 0 for none");
  }
  if (rate == 0) return std::nullopt;
  return rate;
}

std::int64_t checked_disable_after(std::int64_t seconds) {
  if (seconds < 0) throw std::invalid_argument("disable-after must be 0 (never) or more seconds");
  return seconds;
}

void check_secret(const std::string& secret) {
  if (!is_secret(secret)) {
    throw std::invalid_argument(
        "the secret must be \"whsec_\" followed by the base64 of 16 to 64 "
        "bytes (leave it out to get a new one)");
  }
}

// RFC 3339 in UTC, or empty for NULL.
std::string rfc3339(const std::string& column) {
  return "coalesce(to_char(" + column +
         " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '')";
}

std::string joined(const std::vector<std::string>& items) {
  if (items.empty()) return "*";
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

}  // namespace

AddedEndpoint add_endpoint(pqxx::connection& connection, const NewEndpoint& e, bool allow_private) {
  check_endpoint_url(e.url, allow_private);
  check_ops(e.ops);
  check_ordering(e.ordering);
  check_format(e.format);
  const auto filter = stored_filter(e.filter);
  const auto rate = stored_rate(e.rate_limit);
  const auto disable_after = checked_disable_after(e.disable_after_s);
  AddedEndpoint added;
  added.secret = e.secret.empty() ? new_secret() : e.secret;
  check_secret(added.secret);
  pqxx::work tx(connection);
  const auto tables = array_or_null(e.tables);
  const auto ops = array_or_null(e.ops);
  added.id = tx.exec_params1(
                   "INSERT INTO webhook_endpoints (url, description, secret, tables, ops, "
                   "ordering, format, filter, rate_limit, disable_after) VALUES ($1, $2, $3, "
                   "$4::text[], $5::text[], $6, $7, $8::jsonb, $9, $10) RETURNING id",
                   e.url, e.description, added.secret, tables, ops, e.ordering, e.format, filter,
                   rate, disable_after)[0]
                 .as<std::int64_t>();
  tx.commit();
  return added;
}

void update_endpoint(pqxx::connection& connection, std::int64_t endpoint,
                     const EndpointChange& change, bool allow_private) {
  if (change.url) check_endpoint_url(*change.url, allow_private);
  if (change.ops) check_ops(*change.ops);
  if (change.ordering) check_ordering(*change.ordering);
  if (change.format) check_format(*change.format);
  std::optional<std::optional<std::string>> filter;
  if (change.filter) filter = stored_filter(*change.filter);
  std::optional<std::optional<double>> rate;
  if (change.rate_limit) rate = stored_rate(*change.rate_limit);
  if (change.disable_after_s) checked_disable_after(*change.disable_after_s);
  pqxx::work tx(connection);
  require_endpoint(tx, endpoint);
  // Each column set when given ($n set), left as it is otherwise.
  tx.exec_params(
      "UPDATE webhook_endpoints SET "
      "url = CASE WHEN $2 THEN $3 ELSE url END, "
      "description = CASE WHEN $4 THEN $5 ELSE description END, "
      "tables = CASE WHEN $6 THEN $7::text[] ELSE tables END, "
      "ops = CASE WHEN $8 THEN $9::text[] ELSE ops END, "
      "ordering = CASE WHEN $10 THEN $11 ELSE ordering END, "
      "format = CASE WHEN $12 THEN $13 ELSE format END, "
      "filter = CASE WHEN $14 THEN $15::jsonb ELSE filter END, "
      "rate_limit = CASE WHEN $16 THEN $17::float8 ELSE rate_limit END, "
      "rate_next_at = CASE WHEN $16 THEN NULL ELSE rate_next_at END, "
      "disable_after = CASE WHEN $18 THEN $19::bigint ELSE disable_after END "
      "WHERE id = $1",
      endpoint, change.url.has_value(), change.url.value_or(""), change.description.has_value(),
      change.description.value_or(""), change.tables.has_value(),
      change.tables ? array_or_null(*change.tables) : std::nullopt, change.ops.has_value(),
      change.ops ? array_or_null(*change.ops) : std::nullopt, change.ordering.has_value(),
      change.ordering.value_or("commit"), change.format.has_value(),
      change.format.value_or("standard"), filter.has_value(),
      filter ? *filter : std::optional<std::string>(), rate.has_value(),
      rate ? *rate : std::optional<double>(), change.disable_after_s.has_value(),
      change.disable_after_s.value_or(0));
  tx.commit();
}

std::vector<Endpoint> read_endpoints(pqxx::connection& connection,
                                     std::optional<std::int64_t> endpoint) {
  pqxx::work tx(connection);
  const auto rows = tx.exec_params(
      "SELECT e.id, e.url, e.description, e.tables, e.ops, e.ordering, e.format, "
      "  coalesce(e.filter::text, ''), coalesce(e.rate_limit, 0), e.disable_after, e.active, "
      "  coalesce(e.disabled_reason, ''), " +
          rfc3339("e.disabled_at") + ", " + rfc3339("e.failing_since") + ", " +
          rfc3339("e.created_at") +
          ", coalesce(e.previous_secret_until > now(), false), "
          "  (SELECT count(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id "
          "    AND d.status = 'pending'), "
          "  (SELECT count(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id "
          "    AND d.status = 'failed'), "
          "  (SELECT coalesce(sum(f.changes), 0) FROM webhook_filtered f "
          "    WHERE f.endpoint_id = e.id)::bigint "
          "FROM webhook_endpoints e WHERE $1::bigint IS NULL OR e.id = $1 ORDER BY e.id",
      endpoint);
  if (endpoint && rows.empty()) throw NotFound("no webhook endpoint " + std::to_string(*endpoint));
  std::vector<Endpoint> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    Endpoint e;
    pg::read_row(r, e.id, e.url, e.description, e.tables, e.ops, e.ordering, e.format, e.filter,
                 e.rate_limit, e.disable_after_s, e.active, e.disabled_reason, e.disabled_at,
                 e.failing_since, e.created_at, e.previous_secret_valid, e.pending, e.failed,
                 e.filtered);
    out.push_back(std::move(e));
  }
  return out;
}

std::string list_endpoints(pqxx::connection& connection) {
  std::ostringstream out;
  out << "id\tstate\tpending\tfailed\tfiltered\ttables\tops\torder\tformat\trate\turl\n";
  for (const auto& e : read_endpoints(connection)) {
    out << e.id << '\t' << (e.active ? "active" : "disabled") << '\t' << e.pending << '\t'
        << e.failed << '\t' << e.filtered << '\t' << joined(e.tables) << '\t' << joined(e.ops)
        << '\t' << e.ordering << '\t' << e.format << '\t';
    if (e.rate_limit > 0) {
      out << e.rate_limit << "/s";
    } else {
      out << '-';
    }
    out << '\t' << e.url;
    if (!e.description.empty()) out << "\t(" << e.description << ')';
    if (!e.filter.empty()) out << "\tfilter: " << e.filter;
    if (!e.failing_since.empty()) out << "\tfailing since " << e.failing_since;
    if (!e.disabled_reason.empty()) out << "\tdisabled: " << e.disabled_reason;
    if (e.previous_secret_valid) out << "\t(previous secret still valid)";
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
        "UPDATE webhook_endpoints SET active = true, disabled_reason = NULL, disabled_at = NULL, "
        "failing_since = NULL WHERE id = $1",
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
  check_secret(fresh);
  if (overlap.count() < 0) throw std::invalid_argument("the overlap must not be negative");
  pqxx::work tx(connection);
  require_endpoint(tx, endpoint);
  // Through the owner's function: a role that manages endpoints need not
  // be able to read their secrets.
  tx.exec_params("SELECT millrace_webhook_rotate_secret($1, $2, $3)", endpoint, fresh,
                 static_cast<std::int64_t>(overlap.count()));
  tx.commit();
  return fresh;
}

std::vector<DeliveryRecord> read_deliveries(pqxx::connection& connection,
                                            std::optional<std::int64_t> endpoint, bool failed_only,
                                            std::int64_t limit,
                                            std::optional<std::int64_t> before) {
  pqxx::work tx(connection);
  if (endpoint) require_endpoint(tx, *endpoint);
  const auto rows = tx.exec_params(
      "SELECT id, endpoint_id, change_id, status, attempts, " + rfc3339("enqueued_at") + ", " +
          "CASE WHEN status = 'pending' THEN " + rfc3339("next_attempt_at") + " ELSE '' END, " +
          rfc3339("last_attempt_at") + ", last_status, coalesce(last_error, ''), " +
          rfc3339("delivered_at") +
          " FROM webhook_deliveries "
          "WHERE ($1::bigint IS NULL OR endpoint_id = $1) AND (NOT $2 OR status = 'failed') "
          "AND ($4::bigint IS NULL OR id < $4) ORDER BY id DESC LIMIT $3",
      endpoint, failed_only, limit, before);
  std::vector<DeliveryRecord> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    DeliveryRecord d;
    pg::read_row(r, d.id, d.endpoint, d.change_id, d.status, d.attempts, d.enqueued_at,
                 d.next_attempt_at, d.last_attempt_at, d.last_status, d.last_error, d.delivered_at);
    out.push_back(std::move(d));
  }
  return out;
}

std::string list_deliveries(pqxx::connection& connection, std::optional<std::int64_t> endpoint,
                            bool failed_only, std::int64_t limit) {
  std::ostringstream out;
  out << "id\tendpoint\tchange\tstatus\tattempts\tenqueued\tlast_status\tlast_error\n";
  for (const auto& d : read_deliveries(connection, endpoint, failed_only, limit)) {
    out << d.id << '\t' << d.endpoint << '\t' << d.change_id << '\t' << d.status << '\t'
        << d.attempts << '\t' << d.enqueued_at.substr(0, 19) << "Z\t";
    if (d.last_status) {
      out << *d.last_status;
    } else {
      out << '-';
    }
    out << '\t' << d.last_error << '\n';
  }
  return out.str();
}

std::int64_t replay_failed(pqxx::connection& connection, std::int64_t endpoint,
                           const std::optional<std::string>& since) {
  pqxx::work tx(connection);
  require_endpoint(tx, endpoint);
  pqxx::result::size_type n = 0;
  try {
    n = tx.exec_params(
              "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, "
              "next_attempt_at = now() "
              "WHERE endpoint_id = $1 AND status = 'failed' "
              "AND ($2::timestamptz IS NULL OR enqueued_at >= $2::timestamptz)",
              endpoint, since)
            .affected_rows();
  } catch (const pqxx::data_exception&) {
    throw std::invalid_argument("since \"" + since.value_or("") +
                                "\" is not a time such as 2026-11-28T07:00:00Z");
  }
  tx.commit();
  return static_cast<std::int64_t>(n);
}

}  // namespace millrace::webhooks
