#include "batch_rows.hpp"

#include <algorithm>

#include "ingest.hpp"
#include "millrace/pg/array.hpp"
#include "wakeup.hpp"

namespace millrace::webhooks::detail {

namespace {

// The group's read marks (group `g`, topic `t`) from the arrays `p`
// (partitions), `i` (last ids) and `e` (at the end), each only moving
// forward; only when `when` holds, if given.
std::string upsert_marks(const char* g, const char* t, const char* p, const char* i, const char* e,
                         const char* when = nullptr) {
  return std::string(
             "INSERT INTO webhook_read_marks AS w (group_id, topic, partition, last_id, "
             "caught_up_at) SELECT ") +
         g + ", " + t + ", p, i, CASE WHEN e THEN now() ELSE '-infinity' END FROM unnest(" + p +
         "::integer[], " + i + "::text[], " + e + "::boolean[]) AS k(p, i, e) " +
         (when != nullptr ? std::string("WHERE ") + when + " " : std::string()) +
         "ON CONFLICT (group_id, topic, partition) DO UPDATE SET "
         "last_id = GREATEST(w.last_id, EXCLUDED.last_id), "
         "caught_up_at = GREATEST(w.caught_up_at, EXCLUDED.caught_up_at)";
}

// Each change goes to the endpoints routing.hpp chose, in the batch's
// transaction, so a filter changed by `millrace webhooks` applies from one
// committed batch to the next; an endpoint deleted since is passed over.
// Deliveries are inserted in record order, which gives each endpoint's
// queue (ordered by delivery id) the feed's order. Per change: how many
// endpoints took it, and how many deliveries it got now (fewer when
// enqueued before: a duplicate). What each endpoint left out is added to
// its count. The marks' time is now(), the transaction's start
// (read_marks.hpp); the wake-up is a NOTIFY, sent at the commit. The last
// SELECT gives one row even with no change (its ord null), for the wake-up
// and the time. An endpoint the batch holds to send to itself ($16,
// direct.hpp) whose queue it may take over in this statement's snapshot (h:
// may_take_over(), its room in $18) gets no row here: its pending
// deliveries are returned after the changes' rows (ad, each with `go` by
// the marks' rule judged at its enqueueing, as a claim judges it), and its
// deliveries not in the table yet are returned per
// change as "endpoint:go" (dir), `go` by the marks' rule over the committed
// marks merged with this statement's own (mk), as a claim would judge them
// once they commit; its deliveries are counted as enqueued. Every look-up
// in webhook_deliveries is per endpoint, one index probe each (scalar
// subqueries, and a LATERAL with a LIMIT for the queue taken over): as a
// NOT EXISTS or a plain join, a generic plan (the statement is prepared)
// may make them a join over the whole table, which grows with the
// deliveries kept. The marks are then written after the sends ($17,
// write_marks()), so that their rows, which every member of the group
// writes, are not locked while requests go out.
constexpr const char* kWriteRows = "webhooks_batch_rows";
const std::string kWriteRowsSql =
    "WITH c AS ("
    "  SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) "
    "  WITH ORDINALITY AS c(change_id, body, committed_at, ord)), "
    "h AS ("
    "  SELECT e.id, e.ordering = 'commit' AS commit_order "
    "  FROM unnest($16::bigint[], $18::bigint[]) AS x(id, room) "
    "  JOIN webhook_endpoints e ON e.id = x.id WHERE " +
    may_take_over("x.room", "$19") +
    "), "
    "m AS ("
    "  SELECT p.ord, p.endpoint_id, h.id IS NOT NULL AS direct, h.commit_order "
    "  FROM unnest($11::bigint[], $12::bigint[]) AS p(ord, endpoint_id) "
    "  JOIN webhook_endpoints e ON e.id = p.endpoint_id LEFT JOIN h ON h.id = p.endpoint_id), "
    "ins AS ("
    "  INSERT INTO webhook_deliveries (endpoint_id, change_id, body, committed_at) "
    "  SELECT m.endpoint_id, c.change_id, c.body, c.committed_at FROM m JOIN c USING (ord) "
    "  WHERE NOT m.direct ORDER BY m.ord, m.endpoint_id "
    "  ON CONFLICT (endpoint_id, change_id) DO NOTHING RETURNING change_id), "
    "mk AS ("
    "  SELECT GREATEST(w.last_id COLLATE \"C\", k.i) AS last_id, "
    "    GREATEST(w.caught_up_at, CASE WHEN k.e THEN now() ELSE '-infinity' END) AS caught_up_at "
    "  FROM (SELECT * FROM webhook_read_marks WHERE group_id = $4 AND topic = $5) w "
    "  FULL JOIN unnest($6::integer[], $7::text[], $8::boolean[]) AS k(p, i, e) "
    "    ON w.partition = k.p), "
    "dir AS ("
    "  SELECT m.ord, m.endpoint_id, NOT m.commit_order OR (EXISTS (SELECT 1 FROM mk) "
    "    AND NOT EXISTS (SELECT 1 FROM mk WHERE mk.last_id < c.change_id COLLATE \"C\" "
    "      AND mk.caught_up_at < now())) AS go "
    "  FROM m JOIN c USING (ord) WHERE m.direct AND (SELECT d.id FROM webhook_deliveries d "
    "    WHERE d.endpoint_id = m.endpoint_id AND d.change_id = c.change_id) IS NULL), "
    "ad AS ("
    "  SELECT d.endpoint_id, d.id, d.change_id, d.body, "
    "    extract(epoch FROM d.committed_at)::float8 AS committed_s, "
    "    NOT h.commit_order OR (EXISTS (SELECT 1 FROM mk) AND NOT EXISTS (SELECT 1 FROM mk "
    "      WHERE mk.last_id < d.change_id COLLATE \"C\" AND mk.caught_up_at < d.enqueued_at)) AS "
    "go "
    "  FROM h CROSS JOIN LATERAL (SELECT d.id, d.endpoint_id, d.change_id, d.body, "
    "    d.committed_at, d.enqueued_at FROM webhook_deliveries d "
    "    WHERE d.endpoint_id = h.id AND d.status = 'pending' ORDER BY d.id LIMIT $19) d), "
    "dg AS (SELECT ord, count(*) AS n, string_agg(endpoint_id || ':' || go::int, ',' "
    "  ORDER BY endpoint_id) AS pairs FROM dir GROUP BY ord), "
    "n AS (SELECT change_id, count(*) AS enqueued FROM ins GROUP BY change_id), "
    "filtered AS ("
    "  INSERT INTO webhook_filtered AS w (endpoint_id, partition, changes) "
    "  SELECT x.e, x.p, x.n FROM unnest($13::bigint[], $14::integer[], $15::bigint[]) "
    "    AS x(e, p, n) JOIN webhook_endpoints e ON e.id = x.e "
    "  ON CONFLICT (endpoint_id, partition) DO UPDATE SET changes = w.changes + EXCLUDED.changes), "
    "marks AS (" +
    upsert_marks("$4", "$5", "$6", "$7", "$8", "NOT $17") +
    "), "
    "wake AS ("
    "  SELECT count(pg_notify($9, current_schema())) AS sent "
    "  FROM (SELECT 1 WHERE true = ANY ($8::boolean[]) "
    "        OR ($10 AND EXISTS (SELECT 1 FROM ins))) AS x), "
    "r AS ("
    "  SELECT c.ord, count(m.endpoint_id) AS matched, coalesce(max(n.enqueued), 0) AS enqueued "
    "  FROM c LEFT JOIN m USING (ord) LEFT JOIN n USING (change_id) GROUP BY c.ord) "
    "(SELECT r.ord, r.matched, r.enqueued + coalesce(dg.n, 0), wake.sent, now()::text, dg.pairs, "
    "  NULL::bigint AS endpoint_id, NULL::bigint AS id, NULL::text AS change_id, NULL::text AS "
    "body, "
    "  NULL::float8 AS committed_s, NULL::boolean AS go "
    "FROM wake LEFT JOIN r ON true LEFT JOIN dg USING (ord) ORDER BY r.ord) "
    "UNION ALL "
    "SELECT NULL, NULL, NULL, NULL, NULL, NULL, endpoint_id, id, change_id, body, committed_s, go "
    "FROM ad";

// "7:1,9:0" (endpoint:go, as the statement aggregates them) read back.
std::vector<DirectDelivery> read_direct(const std::string& text) {
  std::vector<DirectDelivery> out;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto colon = text.find(':', at);
    auto comma = text.find(',', colon);
    if (comma == std::string::npos) comma = text.size();
    out.push_back({std::stoll(text.substr(at, colon - at)), text[colon + 1] == '1'});
    at = comma + 1;
  }
  return out;
}

}  // namespace

std::string may_take_over(const std::string& room, const std::string& limit) {
  return "(SELECT count(*) FILTER (WHERE q.attempts = 0 AND q.last_attempt_at IS NULL) = "
         "count(*) AND count(*) <= " +
         room +
         " AND (count(*) = 0 OR e.lease_token IS NULL) "
         "FROM (SELECT d.attempts, d.last_attempt_at FROM webhook_deliveries d "
         "WHERE d.endpoint_id = e.id "
         "AND d.status = 'pending' LIMIT " +
         limit + ") q)";
}

RowsWritten write_rows(pqxx::work& tx, const std::string& group, const std::string& topic,
                       const BatchRows& rows) {
  pg::ArrayLiteral ids, bodies, commits, ords, endpoints;
  for (std::size_t i = 0; i < rows.changes.size(); ++i) {
    const auto* c = rows.changes[i];
    ids.add(c->id);
    bodies.add(c->body);
    commits.add(c->commit_time);
    if (i < rows.endpoints.size()) {
      for (const auto e : rows.endpoints[i]) {
        ords.add(static_cast<std::int64_t>(i + 1));
        endpoints.add(e);
      }
    }
  }
  pg::ArrayLiteral filtered_endpoints, filtered_partitions, filtered_counts;
  for (const auto& [at, n] : rows.filtered) {
    filtered_endpoints.add(at.first);
    filtered_partitions.add(at.second);
    filtered_counts.add(n);
  }
  pg::ArrayLiteral direct, rooms;
  std::int64_t most_room = 0;
  for (const auto& [e, room] : rows.direct) {
    direct.add(e);
    rooms.add(room);
    most_room = std::max(most_room, room);
  }
  RowsWritten out;
  pg::ArrayLiteral partitions, last_ids, at_end;
  for (const auto& m : rows.marks) {
    partitions.add(m.partition);
    last_ids.add(m.last_id);
    at_end.add(m.at_end ? "t" : "f");
    out.at_end = out.at_end || m.at_end;
  }
  const bool marks_later = !rows.direct.empty();
  if (marks_later) out.marks_later = rows.marks;
  // Defined again, unchanged, on every call (a no-op for libpqxx): the
  // stream's session may have been replaced since the last batch.
  tx.conn().prepare(kWriteRows, kWriteRowsSql);
  const auto result = tx.exec_prepared(
      kWriteRows, ids.take(), bodies.take(), commits.take(), group, topic, partitions.take(),
      last_ids.take(), at_end.take(), std::string(kWakeChannel), rows.wake_on_enqueue, ords.take(),
      endpoints.take(), filtered_endpoints.take(), filtered_partitions.take(),
      filtered_counts.take(), direct.take(), marks_later, rooms.take(), most_room + 1);
  out.changes.resize(rows.changes.size());
  for (const auto& r : result) {
    if (!r[6].is_null()) {
      out.adopted.push_back({r[6].as<std::int64_t>(), r[7].as<std::int64_t>(),
                             r[8].as<std::string>(), r[9].as<std::string>(), r[10].as<double>(),
                             r[11].as<bool>()});
      continue;
    }
    out.woke = r[3].as<std::int64_t>() > 0;
    out.now = r[4].as<std::string>();
    if (r[0].is_null()) continue;
    auto& change = out.changes.at(r[0].as<std::size_t>() - 1);
    change = {r[1].as<std::int64_t>(), r[2].as<std::int64_t>(), {}};
    if (!r[5].is_null()) change.direct = read_direct(r[5].as<std::string>());
  }
  return out;
}

void write_marks(pqxx::work& tx, const std::string& group, const std::string& topic,
                 const std::vector<Mark>& marks) {
  if (marks.empty()) return;
  pg::ArrayLiteral partitions, last_ids, at_end;
  for (const auto& m : marks) {
    partitions.add(m.partition);
    last_ids.add(m.last_id);
    at_end.add(m.at_end ? "t" : "f");
  }
  static const std::string sql = upsert_marks("$1", "$2", "$3", "$4", "$5");
  tx.conn().prepare("webhooks_batch_marks", sql);
  tx.exec_prepared("webhooks_batch_marks", group, topic, partitions.take(), last_ids.take(),
                   at_end.take());
}

}  // namespace millrace::webhooks::detail
