#include "batch_rows.hpp"

#include "ingest.hpp"
#include "millrace/pg/array.hpp"
#include "wakeup.hpp"

namespace millrace::webhooks::detail {

namespace {

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
// and the time.
constexpr const char* kWriteRows = "webhooks_batch_rows";
constexpr const char* kWriteRowsSql =
    "WITH c AS ("
    "  SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) "
    "  WITH ORDINALITY AS c(change_id, body, committed_at, ord)), "
    "m AS ("
    "  SELECT p.ord, p.endpoint_id FROM unnest($11::bigint[], $12::bigint[]) AS p(ord, "
    "endpoint_id) "
    "  JOIN webhook_endpoints e ON e.id = p.endpoint_id), "
    "ins AS ("
    "  INSERT INTO webhook_deliveries (endpoint_id, change_id, body, committed_at) "
    "  SELECT m.endpoint_id, c.change_id, c.body, c.committed_at FROM m JOIN c USING (ord) "
    "  ORDER BY m.ord, m.endpoint_id "
    "  ON CONFLICT (endpoint_id, change_id) DO NOTHING RETURNING change_id), "
    "n AS (SELECT change_id, count(*) AS enqueued FROM ins GROUP BY change_id), "
    "filtered AS ("
    "  INSERT INTO webhook_filtered AS w (endpoint_id, partition, changes) "
    "  SELECT x.e, x.p, x.n FROM unnest($13::bigint[], $14::integer[], $15::bigint[]) "
    "    AS x(e, p, n) JOIN webhook_endpoints e ON e.id = x.e "
    "  ON CONFLICT (endpoint_id, partition) DO UPDATE SET changes = w.changes + EXCLUDED.changes), "
    "marks AS ("
    "  INSERT INTO webhook_read_marks AS w (group_id, topic, partition, last_id, caught_up_at) "
    "  SELECT $4, $5, p, i, CASE WHEN e THEN now() ELSE '-infinity' END "
    "  FROM unnest($6::integer[], $7::text[], $8::boolean[]) AS k(p, i, e) "
    "  ON CONFLICT (group_id, topic, partition) DO UPDATE SET "
    "    last_id = GREATEST(w.last_id, EXCLUDED.last_id), "
    "    caught_up_at = GREATEST(w.caught_up_at, EXCLUDED.caught_up_at)), "
    "wake AS ("
    "  SELECT count(pg_notify($9, current_schema())) AS sent "
    "  FROM (SELECT 1 WHERE true = ANY ($8::boolean[]) "
    "        OR ($10 AND EXISTS (SELECT 1 FROM ins))) AS x), "
    "r AS ("
    "  SELECT c.ord, count(m.endpoint_id) AS matched, coalesce(max(n.enqueued), 0) AS enqueued "
    "  FROM c LEFT JOIN m USING (ord) LEFT JOIN n USING (change_id) GROUP BY c.ord) "
    "SELECT r.ord, r.matched, r.enqueued, wake.sent, now()::text "
    "FROM wake LEFT JOIN r ON true ORDER BY r.ord";

}  // namespace

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
  RowsWritten out;
  pg::ArrayLiteral partitions, last_ids, at_end;
  for (const auto& m : rows.marks) {
    partitions.add(m.partition);
    last_ids.add(m.last_id);
    at_end.add(m.at_end ? "t" : "f");
    out.at_end = out.at_end || m.at_end;
  }
  // Defined again, unchanged, on every call (a no-op for libpqxx): the
  // stream's session may have been replaced since the last batch.
  tx.conn().prepare(kWriteRows, kWriteRowsSql);
  const auto result = tx.exec_prepared(kWriteRows, ids.take(), bodies.take(), commits.take(), group,
                                       topic, partitions.take(), last_ids.take(), at_end.take(),
                                       std::string(kWakeChannel), rows.wake_on_enqueue, ords.take(),
                                       endpoints.take(), filtered_endpoints.take(),
                                       filtered_partitions.take(), filtered_counts.take());
  out.changes.resize(rows.changes.size());
  for (const auto& r : result) {
    out.woke = r[3].as<std::int64_t>() > 0;
    out.now = r[4].as<std::string>();
    if (r[0].is_null()) continue;
    out.changes.at(r[0].as<std::size_t>() - 1) = {r[1].as<std::int64_t>(), r[2].as<std::int64_t>()};
  }
  return out;
}

}  // namespace millrace::webhooks::detail
