#include "pg_queue.hpp"

#include <random>
#include <stdexcept>

#include "millrace/pg/array.hpp"
#include "millrace/pg/database.hpp"

namespace millrace::webhooks::detail {

namespace {

// Whether the delivery of change `C` enqueued at `T` may go out in commit
// order: the rule of read_marks.hpp over the group's marks (the parameters
// `group` and `topic`, $3 and $4 unless given), one row per partition of
// the change topic. A mark caught up at T itself releases it.
std::string released(const std::string& c, const std::string& t, const std::string& group = "$3",
                     const std::string& topic = "$4") {
  const std::string marks =
      "FROM webhook_read_marks m WHERE m.group_id = " + group + " AND m.topic = " + topic;
  return "(EXISTS (SELECT 1 " + marks + ") AND NOT EXISTS (SELECT 1 " + marks +
         " AND m.last_id < " + c + " COLLATE \"C\" AND m.caught_up_at < " + t + "))";
}

std::int64_t new_lease_token() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return static_cast<std::int64_t>(rng() >> 1);
}

// The statements of a claim and of its recording, prepared once per session
// (PgQueue::connection): PostgreSQL planned the claim's first statement in
// longer than it ran it (1.2 ms against 0.5 on an idle machine), on every
// claim, while the next delivery waited.

// Takes the head of each active endpoint's queue (the lowest change id in
// commit order, released by the marks; the first enqueued in key order); the
// one due the longest that no other worker holds (a lease that ran out, or
// whose worker's session ended, is free again). $1 the lease token, $2 its
// length in ms, $3 and $4 the marks' group and topic. FOR NO KEY UPDATE,
// as the UPDATE itself locks, and not FOR UPDATE: every transaction that
// enqueues deliveries holds a KEY SHARE lock on their endpoints (the foreign
// key's check) until it commits, which FOR UPDATE conflicts with, and SKIP
// LOCKED then passed over an endpoint whose queue was being added to. Under
// steady load the consumer's batches follow one another, and claims found
// nothing for tens of milliseconds while deliveries waited. Two candidates
// are taken, so that the claim also tells whether another endpoint could be
// claimed (Claim::more); the other one's lock ends with the statement.
constexpr const char* kClaim = "webhooks_claim";
std::string claim_sql() {
  return "WITH c AS ("
         "  SELECT e.id, h.next_attempt_at FROM webhook_endpoints e "
         "  CROSS JOIN LATERAL ("
         "    (SELECT d.next_attempt_at, d.change_id, d.enqueued_at FROM webhook_deliveries d "
         "      WHERE e.ordering = 'commit' AND d.endpoint_id = e.id AND d.status = 'pending' "
         "      ORDER BY d.change_id COLLATE \"C\" LIMIT 1) "
         "    UNION ALL "
         "    (SELECT d.next_attempt_at, d.change_id, d.enqueued_at FROM webhook_deliveries d "
         "      WHERE e.ordering = 'key' AND d.endpoint_id = e.id AND d.status = 'pending' "
         "      ORDER BY d.id LIMIT 1)) h "
         "  WHERE e.active AND h.next_attempt_at <= clock_timestamp() "
         "    AND (e.ordering = 'key' OR " +
         released("h.change_id", "h.enqueued_at") +
         ") "
         "    AND (e.rate_next_at IS NULL "
         "      OR e.rate_next_at <= clock_timestamp() + $5 * interval '1 millisecond') "
         "    AND (e.lease_until IS NULL OR e.lease_until < clock_timestamp() "
         "      OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = e.lease_pid)) "
         "  ORDER BY h.next_attempt_at LIMIT 2 FOR NO KEY UPDATE OF e SKIP LOCKED) "
         "UPDATE webhook_endpoints SET lease_token = $1, lease_pid = pg_backend_pid(), "
         "  lease_until = clock_timestamp() + $2 * interval '1 millisecond' "
         "WHERE id = (SELECT id FROM c ORDER BY next_attempt_at LIMIT 1) "
         "RETURNING id, url, secret, "
         "  CASE WHEN previous_secret_until > clock_timestamp() THEN previous_secret END, "
         "  ordering = 'commit', (SELECT count(*) FROM c) > 1, format, coalesce(rate_limit, 0), "
         "  CASE WHEN rate_limit IS NULL THEN 0 ELSE greatest(0, ceil(1000 * extract(epoch FROM "
         "    rate_next_at - clock_timestamp()))) END::bigint";
}

// The queue order of an endpoint's deliveries: change-id order in commit
// order, enqueue order (id) in key order.
std::string queue_order(bool commit_order) {
  return commit_order ? "change_id COLLATE \"C\"" : "id";
}

// Up to `max` of endpoint $1's pending deliveries in queue order, but for
// those `also` leaves out (an SQL condition, or empty), with the columns of
// a Delivery and whether the marks (`group`, `topic`) release each in commit
// order (column `go`); in key order every one is.
std::string pending_sql(bool commit_order, const std::string& max, const std::string& group,
                        const std::string& topic, const std::string& also = "") {
  const std::string go =
      commit_order ? released("d.change_id", "d.enqueued_at", group, topic) : "true";
  return "SELECT id, change_id, body, attempts, extract(epoch FROM committed_at)::float8 AS "
         "committed_s, " +
         go + " AS go FROM webhook_deliveries d WHERE endpoint_id = $1 AND status = 'pending'" +
         (also.empty() ? "" : " AND " + also) + " ORDER BY " + queue_order(commit_order) +
         " LIMIT " + max;
}

// A claim's deliveries: $1 the endpoint, $2 how many, $3 and $4 the marks'
// group and topic in commit order.
constexpr const char* kCommitOrderDeliveries = "webhooks_commit_order_deliveries";
constexpr const char* kKeyOrderDeliveries = "webhooks_key_order_deliveries";
std::string deliveries_sql(bool commit_order) {
  return pending_sql(commit_order, "$2", "$3", "$4");
}

// The rate limiter's state as a claim stores it: parameter `p`, the
// milliseconds from now until the endpoint's next delivery may go (NULL:
// left as it is).
std::string set_rate(int p) {
  const auto n = "$" + std::to_string(p);
  return "rate_next_at = CASE WHEN " + n + "::bigint IS NULL THEN rate_next_at ELSE " +
         "clock_timestamp() + " + n + " * interval '1 millisecond' END";
}

// The UPDATE that extends the claim's lease, or gives the queue up when
// `release`, if the lease is still this claim's: RETURNING a row only then.
// Its parameters: $1 the endpoint, $2 the lease token, and $3 the lease's
// length when not releasing; `also` sets more of the endpoint's columns.
std::string hold_sql(bool release, const std::string& also) {
  return release
             // Still this claim's token: nobody claimed the queue since, even
             // if the lease ran out.
             ? "UPDATE webhook_endpoints SET lease_token = NULL, lease_until = NULL, "
               "lease_pid = NULL, " +
                   also + " WHERE id = $1 AND lease_token = $2 RETURNING id"
             : "UPDATE webhook_endpoints SET lease_until = clock_timestamp() + $3 * "
               "interval '1 millisecond', " +
                   also +
                   " WHERE id = $1 AND lease_token = $2 AND "
                   "lease_until > clock_timestamp() RETURNING id";
}
// Alone (a claim that ends at an outcome that is not a delivery): the
// rate's state is the next parameter.
std::string hold_sql(bool release) {
  return hold_sql(release, set_rate(release ? 3 : 4));
}
const char* hold_name(bool release) {
  return release ? "webhooks_release" : "webhooks_extend";
}

// Sets deliveries delivered, from the arrays $N (ids), $N+1 (HTTP statuses,
// 0 for none) and $N+2 (how many milliseconds ago each was answered), and
// from the tables in `also_from` (", t"), if any.
std::string set_delivered_sql(int n, const std::string& also_from) {
  const auto p = [](int k) { return "$" + std::to_string(k); };
  return "UPDATE webhook_deliveries d SET status = 'delivered', attempts = d.attempts + 1, "
         "last_attempt_at = clock_timestamp() - u.age_ms * interval '1 millisecond', "
         "last_status = NULLIF(u.status, 0), last_error = NULL, "
         "delivered_at = clock_timestamp() - u.age_ms * interval '1 millisecond' "
         "FROM unnest(" +
         p(n) + "::bigint[], " + p(n + 1) + "::int[], " + p(n + 2) +
         "::bigint[]) AS u(id, status, age_ms)" + also_from + " WHERE d.id = u.id";
}

// The lease held (or given up) and the deliveries stored in one statement,
// the deliveries only if the lease is still the claim's: one round trip, its
// own transaction. Returns how many leases it held (0 or 1).
// A delivery ends the endpoint's failing time; the rate's state is the
// parameter after the arrays.
std::string hold_and_deliver_sql(bool release) {
  const int n = release ? 3 : 4;
  const std::string also = set_rate(n + 3) + ", failing_since = CASE WHEN cardinality($" +
                           std::to_string(n) + "::bigint[]) > 0 THEN NULL ELSE failing_since END";
  return "WITH held AS (" + hold_sql(release, also) + "), done AS (" +
         set_delivered_sql(n, ", held") + " RETURNING 1) SELECT count(*) FROM held";
}
const char* hold_and_deliver_name(bool release) {
  return release ? "webhooks_release_delivered" : "webhooks_extend_delivered";
}

// A claim's deliveries stored, and the endpoint's next ones read, in one
// statement (Queue::record_and_continue). $1 the endpoint, $2 the lease
// token, $3 the lease's length, $4-$6 the deliveries' arrays as
// set_delivered_sql() takes them, $7 how many to read, and in commit order
// $8 and $9 the marks' group and topic. The read's snapshot is the
// statement's, from before the deliveries stored with it, so it passes over
// their ids; the token proves that nobody else delivered from the queue
// since the claim. With a released head among the rows read the lease is
// extended (if it has not run out), otherwise given up. One row per
// delivery read, each with whether the marks release it, after the kept
// flag; a single row of nulls after `false` when the queue was given up; no
// row when the token is not the claim's any more. The rate's state is the
// last parameter ($10, or $8 in key order, which has no marks), and the
// deliveries end the endpoint's failing time.
std::string continue_sql(bool commit_order) {
  const std::string rate = set_rate(commit_order ? 10 : 8);
  const std::string order = queue_order(commit_order);
  const std::string keep = "k.head_go AND e.lease_until > k.at";
  return "WITH nxt AS (" + pending_sql(commit_order, "$7", "$8", "$9", "id <> ALL ($4::bigint[])") +
         "), "
         "held AS (UPDATE webhook_endpoints e SET "
         "lease_until = CASE WHEN " +
         keep + " THEN k.at + $3 * interval '1 millisecond' END, lease_token = CASE WHEN " + keep +
         " THEN e.lease_token END, lease_pid = CASE WHEN " + keep + " THEN e.lease_pid END, " +
         rate +
         ", failing_since = CASE WHEN cardinality($4::bigint[]) > 0 THEN NULL ELSE "
         "failing_since END "
         "FROM (SELECT clock_timestamp() AS at, coalesce((SELECT go FROM nxt ORDER BY " +
         order +
         " LIMIT 1), false) AS head_go) k "
         "WHERE e.id = $1 AND e.lease_token = $2 RETURNING e.lease_token IS NOT NULL AS kept), "
         "done AS (" +
         set_delivered_sql(4, ", held") +
         " RETURNING 1) "
         "SELECT h.kept, n.id, n.change_id, n.body, n.attempts, n.committed_s, n.go "
         "FROM held h LEFT JOIN nxt n ON h.kept ORDER BY n." +
         order;
}
const char* continue_name(bool commit_order) {
  return commit_order ? "webhooks_continue_commit_order" : "webhooks_continue_key_order";
}

// The delivered outcomes of `recorded` as set_delivered_sql() takes them;
// `other` is set to the one that is not a delivery, if any (at most one:
// a claim stops at it).
struct DeliveredArrays {
  pg::ArrayLiteral ids, statuses, ages;
  const Recorded* other = nullptr;
  explicit DeliveredArrays(std::span<const Recorded> recorded) {
    const auto now = std::chrono::steady_clock::now();
    for (const auto& r : recorded) {
      if (r.decision.verdict != Verdict::kDelivered) {
        other = &r;
        continue;
      }
      ids.add(r.delivery->id);
      statuses.add(r.result.status.value_or(0));
      ages.add(age_ms(r, now));
    }
  }
  static std::int64_t age_ms(const Recorded& r, std::chrono::steady_clock::time_point now) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - r.answered).count();
  }
};
constexpr const char* kSetDelivered = "webhooks_set_delivered";

}  // namespace

PgQueue::PgQueue(pg::PgOptions options, std::string application_name, MarkScope marks,
                 std::chrono::milliseconds max_rate_pause)
    : options_(std::move(options)),
      application_name_(std::move(application_name)),
      marks_(std::move(marks)),
      max_rate_pause_(max_rate_pause) {}

PgQueue::~PgQueue() = default;

pqxx::connection& PgQueue::connection() {
  if (!conn_) {
    conn_ = pg::connect(options_.url, options_.schema, application_name_, options_.limits);
    // Recording an attempt need not wait for its WAL flush: a database crash
    // can forget the last few outcomes, and those deliveries are sent again
    // with the same webhook-id, which receivers deduplicate anyway. It spares
    // one fsync per request, which otherwise bounds an endpoint's rate. The
    // queue's contents (enqueued with the consumer's offsets) are written
    // with synchronous commits as before.
    pqxx::nontransaction(*conn_).exec("SET synchronous_commit = off");
    // Defined here, prepared by libpqxx at their first use in this session.
    conn_->prepare(kClaim, claim_sql());
    conn_->prepare(kCommitOrderDeliveries, deliveries_sql(true));
    conn_->prepare(kKeyOrderDeliveries, deliveries_sql(false));
    for (const bool release : {true, false}) {
      conn_->prepare(hold_name(release), hold_sql(release));
      conn_->prepare(hold_and_deliver_name(release), hold_and_deliver_sql(release));
    }
    for (const bool commit_order : {true, false}) {
      conn_->prepare(continue_name(commit_order), continue_sql(commit_order));
    }
    conn_->prepare(kSetDelivered, set_delivered_sql(1, ""));
  }
  return *conn_;
}

template <typename Tx, typename Body>
auto PgQueue::in_transaction(const char* what, Body&& body) {
  try {
    Tx tx(connection());
    auto out = body(tx);
    tx.commit();
    return out;
  } catch (const std::exception&) {
    conn_.reset();  // a failed session is not trusted again
    pg::rethrow_classified(what);
  }
}

std::optional<Claim> PgQueue::claim(std::int64_t lease_ms, int max) {
  // Two statements outside a transaction: each commits by itself, so the
  // claim takes two round trips, not four (BEGIN and COMMIT too), each of
  // them waiting its turn on a PostgreSQL that is also taking the source's
  // commits and decoding them while the next delivery waits. The lease
  // taken by the first protects the read of the second, which needs a
  // snapshot taken after the lease: one taken before it (the same
  // statement's) could miss the deliveries another worker recorded as its
  // lease ended, and send them again.
  return in_transaction<pqxx::nontransaction>(
      "claim a webhook queue", [&](pqxx::nontransaction& tx) -> std::optional<Claim> {
        const std::int64_t token = new_lease_token();
        const auto head = tx.exec_prepared(kClaim, token, lease_ms, marks_.group, marks_.topic,
                                           static_cast<std::int64_t>(max_rate_pause_.count()));
        if (head.empty()) return std::nullopt;
        Claim c;
        c.endpoint = head[0][0].as<std::int64_t>();
        c.url = head[0][1].as<std::string>();
        c.secrets.push_back(head[0][2].as<std::string>());
        if (!head[0][3].is_null()) c.secrets.push_back(head[0][3].as<std::string>());
        c.lease = token;
        c.commit_order = head[0][4].as<bool>();
        c.more = head[0][5].as<bool>();
        c.format = format_named(head[0][6].as<std::string>()).value_or(Format::kStandard);
        c.rate_limit = head[0][7].as<double>();
        c.rate_wait = std::chrono::milliseconds(head[0][8].as<std::int64_t>());
        // In commit order the claim ends before the first delivery the marks
        // do not release yet (the head is released: the claim above checked).
        const auto rows = c.commit_order ? tx.exec_prepared(kCommitOrderDeliveries, c.endpoint, max,
                                                            marks_.group, marks_.topic)
                                         : tx.exec_prepared(kKeyOrderDeliveries, c.endpoint, max);
        for (const auto& r : rows) {
          if (!r[5].as<bool>()) break;
          c.deliveries.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>(),
                                  r[2].as<std::string>(), r[3].as<int>(), r[4].as<double>()});
        }
        return c;
      });
}

namespace {

// Null when the claim keeps no rate.
std::optional<std::int64_t> rate_param(RateWait rate) {
  if (!rate) return std::nullopt;
  return static_cast<std::int64_t>(rate->count());
}

}  // namespace

Stored PgQueue::record(const Claim& claim, std::span<const Recorded> recorded,
                       std::int64_t lease_ms, bool release, RateWait rate) {
  // The deliveries in one statement; what is not one ends the claim, so
  // there is at most one such, stored by itself below.
  DeliveredArrays a(recorded);
  const auto with_lease = [&](auto& tx, const char* statement, auto&&... more) {
    return release ? tx.exec_prepared(statement, claim.endpoint, claim.lease, more...)
                   : tx.exec_prepared(statement, claim.endpoint, claim.lease, lease_ms, more...);
  };
  if (a.other == nullptr) {
    // Only deliveries, the usual case: one statement.
    return in_transaction<pqxx::nontransaction>(
        "record webhook attempts", [&](pqxx::nontransaction& tx) {
          return Stored{with_lease(tx, hold_and_deliver_name(release), a.ids.take(),
                                   a.statuses.take(), a.ages.take(), rate_param(rate))[0][0]
                                .as<std::int64_t>() > 0,
                        {}};
        });
  }
  return in_transaction<pqxx::work>("record webhook attempts", [&](pqxx::work& tx) {
    if (with_lease(tx, hold_name(release), rate_param(rate)).empty()) return Stored{};
    const bool delivered = a.ids.size() > 0;
    if (delivered) {
      tx.exec_prepared(kSetDelivered, a.ids.take(), a.statuses.take(), a.ages.take());
    }
    return Stored{true,
                  record_other(tx, claim, *a.other,
                               DeliveredArrays::age_ms(*a.other, std::chrono::steady_clock::now()),
                               delivered)};
  });
}

std::optional<std::vector<Delivery>> PgQueue::record_and_continue(
    const Claim& claim, std::span<const Recorded> recorded, std::int64_t lease_ms, int max,
    RateWait rate) {
  DeliveredArrays arrays(recorded);
  if (arrays.other != nullptr) {
    throw std::logic_error("record_and_continue: an outcome that is not a delivery");
  }
  return in_transaction<pqxx::nontransaction>(
      "record webhook attempts",
      [&](pqxx::nontransaction& tx) -> std::optional<std::vector<Delivery>> {
        const char* statement = continue_name(claim.commit_order);
        const auto rows =
            claim.commit_order
                ? tx.exec_prepared(statement, claim.endpoint, claim.lease, lease_ms,
                                   arrays.ids.take(), arrays.statuses.take(), arrays.ages.take(),
                                   max, marks_.group, marks_.topic, rate_param(rate))
                : tx.exec_prepared(statement, claim.endpoint, claim.lease, lease_ms,
                                   arrays.ids.take(), arrays.statuses.take(), arrays.ages.take(),
                                   max, rate_param(rate));
        if (rows.empty()) return std::nullopt;
        std::vector<Delivery> next;
        if (!rows[0][0].as<bool>()) return next;
        // In commit order the rows stop before the first one the marks do
        // not release yet (the head is released: the lease was kept).
        for (const auto& r : rows) {
          if (!r[6].as<bool>()) break;
          next.push_back({r[1].as<std::int64_t>(), r[2].as<std::string>(), r[3].as<std::string>(),
                          r[4].as<int>(), r[5].as<double>()});
        }
        return next;
      });
}

std::string PgQueue::record_other(pqxx::work& tx, const Claim& claim, const Recorded& rec,
                                  std::int64_t age_ms, bool delivered_before) {
  const auto& d = *rec.delivery;
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
                     d.id, status, error, age_ms,
                     static_cast<std::int64_t>(rec.decision.delay.count()));
      break;
    case Verdict::kFailed:
      tx.exec_params("UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1, " +
                         attempted +
                         "last_status = NULLIF($2::int, 0), last_error = $3 "
                         "WHERE id = $1",
                     d.id, status, error, age_ms);
      break;
    case Verdict::kDisable:
      // The delivery stays at the head of the queue, for when the endpoint
      // is enabled again.
      tx.exec_params("UPDATE webhook_deliveries SET attempts = attempts + 1, " + attempted +
                         "last_status = NULLIF($2::int, 0), last_error = $3 WHERE id = $1",
                     d.id, status, error, age_ms);
      tx.exec_params(
          "UPDATE webhook_endpoints SET active = false, disabled_at = now(), "
          "disabled_reason = $2, lease_token = NULL, lease_until = NULL, lease_pid = NULL "
          "WHERE id = $1",
          claim.endpoint, rec.decision.reason);
      break;
  }
  return failed_for(tx, claim.endpoint, age_ms, delivered_before, rec.decision.reason);
}

// The endpoint failed an attempt `age_ms` ago: its failing time starts then
// unless it had (since its last delivery: `delivered_before` in this
// claim's outcomes ends the earlier one), and once that is longer than its
// disable_after, it is disabled. Returns why, when it was disabled now.
std::string PgQueue::failed_for(pqxx::work& tx, std::int64_t endpoint, std::int64_t age_ms,
                                bool delivered_before, const std::string& error) {
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
                             row[2].as<std::string>() + " s (its disable_after); last: " + error;
  tx.exec_params(
      "UPDATE webhook_endpoints SET active = false, disabled_at = now(), disabled_reason = $2, "
      "lease_token = NULL, lease_until = NULL, lease_pid = NULL WHERE id = $1",
      endpoint, reason);
  return reason;
}

std::string PgQueue::database() {
  try {
    return connection().dbname();
  } catch (const std::exception&) {
    conn_.reset();
    pg::rethrow_classified("connect to the delivery queue");
  }
}

QueueStats PgQueue::stats() {
  return in_transaction<pqxx::work>("read webhook queue stats", [&](pqxx::work& tx) {
    QueueStats s;
    const auto rows = tx.exec(
        "SELECT e.id, e.active, "
        "  count(d.id) FILTER (WHERE d.status = 'pending'), "
        "  count(d.id) FILTER (WHERE d.status = 'failed'), "
        "  coalesce(extract(epoch FROM clock_timestamp() - "
        "    min(d.enqueued_at) FILTER (WHERE d.status = 'pending')), 0)::float8, "
        "  (SELECT coalesce(sum(f.changes), 0) FROM webhook_filtered f "
        "    WHERE f.endpoint_id = e.id)::bigint, "
        "  coalesce(extract(epoch FROM clock_timestamp() - e.failing_since), 0)::float8 "
        "FROM webhook_endpoints e "
        "LEFT JOIN webhook_deliveries d ON d.endpoint_id = e.id AND d.status <> 'delivered' "
        "GROUP BY e.id, e.active ORDER BY e.id");
    for (const auto& r : rows) {
      s.endpoints.push_back({r[0].as<std::int64_t>(), r[1].as<bool>(), r[2].as<std::int64_t>(),
                             r[3].as<std::int64_t>(), r[4].as<double>(), r[5].as<std::int64_t>(),
                             r[6].as<double>()});
    }
    return s;
  });
}

std::int64_t PgQueue::prune_delivered(std::int64_t keep_s) {
  return in_transaction<pqxx::work>("prune delivered webhooks", [&](pqxx::work& tx) {
    return static_cast<std::int64_t>(
        tx.exec_params("DELETE FROM webhook_deliveries WHERE status = 'delivered' "
                       "AND delivered_at < now() - $1 * interval '1 second'",
                       keep_s)
            .affected_rows());
  });
}

}  // namespace millrace::webhooks::detail
