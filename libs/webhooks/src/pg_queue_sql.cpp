#include "pg_queue_sql.hpp"

#include <string>

namespace millrace::webhooks::detail::queue_sql {

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

}  // namespace

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

// A claim's deliveries: $1 the endpoint, $2 how many, $3 and $4 the marks'
// group and topic in commit order.
std::string deliveries_sql(bool commit_order) {
  return pending_sql(commit_order, "$2", "$3", "$4");
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
// from the tables in `also_from` (", t"), if any. A delivered row keeps its
// record and not its body, which nothing reads again (only failed ones are
// replayed; the API never shows a body; the change is in its topic): the
// row's new version, which every delivery writes, is then about 60 % of
// the WAL, and the update takes about 85 % of the time
// (docs/benchmarks.md, "A delivered row without its body").
std::string set_delivered_sql(int n, const std::string& also_from) {
  const auto p = [](int k) { return "$" + std::to_string(k); };
  return "UPDATE webhook_deliveries d SET status = 'delivered', attempts = d.attempts + 1, "
         "body = '', "
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
// extended (if it has not run out and the endpoint is still active),
// otherwise given up. One row per
// delivery read, each with whether the marks release it, after the kept
// flag; a single row of nulls after `false` when the queue was given up; no
// row when the token is not the claim's any more. The rate's state is the
// last parameter ($10, or $8 in key order, which has no marks), and the
// deliveries end the endpoint's failing time.
std::string continue_sql(bool commit_order) {
  const std::string rate = set_rate(commit_order ? 10 : 8);
  const std::string order = queue_order(commit_order);
  const std::string keep = "k.head_go AND e.active AND e.lease_until > k.at";
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

}  // namespace millrace::webhooks::detail::queue_sql
