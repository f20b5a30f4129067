#include "store_sales.hpp"

#include "millrace/pg/array.hpp"

namespace millrace::aggregate::tables {

std::set<EventKey> insert_reused_ids(pqxx::work& tx, const std::string& topic,
                                     const std::vector<SeenId>& events) {
  std::set<EventKey> added;
  if (events.empty()) return added;
  pg::ArrayLiteral id_array;
  pg::ArrayLiteral event_times;
  for (const auto& s : events) {
    id_array.add(*s.id);
    event_times.add(core::format_timestamp(s.event_ts));
  }
  for (const auto& row : tx.exec_params(
           "INSERT INTO aggregator_reused_ids (topic, id, event_ts) "
           "SELECT $3, id, event_ts FROM unnest($1::uuid[], $2::timestamptz[]) AS b(id, event_ts) "
           "ON CONFLICT DO NOTHING "
           "RETURNING id::text, (extract(epoch FROM event_ts) * 1000000)::bigint",
           id_array.take(), event_times.take(), topic)) {
    added.emplace(row[0].as<std::string>(), row[1].as<core::TimestampUs>());
  }
  return added;
}

void prune_reused_ids(pqxx::work& tx, const std::string& topic, std::int64_t max_lateness_s) {
  tx.exec_params(
      "DELETE FROM aggregator_reused_ids WHERE topic = $1 AND event_ts < (SELECT "
      "min(max_event_ts) FROM aggregator_partitions WHERE topic = $1) - make_interval(secs => "
      "$2) - interval '1 hour'",
      topic, static_cast<double>(max_lateness_s));
}

Stored insert_late(pqxx::work& tx, const std::string& topic, const kinds::StoreEventFields& f,
                   const Late<kinds::Record>& late, const PartitionMax& max_ts) {
  Stored stored;
  if (late.empty()) return stored;
  std::string values;
  for (const auto& [p, verdict] : late) {
    const auto& e = p->record;
    const auto s = f.sale(e);
    std::string partition_max = "NULL";
    if (const auto it = max_ts.find(p->partition); it != max_ts.end() && it->second) {
      partition_max = ts_literal(tx, *it->second) + "::timestamptz";
    }
    if (!values.empty()) values += ',';
    values += "(" + tx.quote(f.id(e)) + "," + tx.quote(std::string(core::to_string(verdict))) +
              "," + tx.quote(std::string(core::to_string(s.event_type))) + "," +
              ts_literal(tx, s.ts) + "," + std::to_string(f.store_id(e)) + "," +
              tx.quote(*s.category) + "," + std::to_string(s.sku) + "," + s.price.to_string() +
              "," + std::to_string(s.qty) + "," + s.discount.to_string() + "," +
              (s.is_return ? "true" : "false") + "," + partition_max + "," + tx.quote(topic) + "," +
              std::to_string(p->partition) + "," + std::to_string(p->offset) + ")";
  }
  for (const auto& row :
       tx.exec("INSERT INTO late_events (id, verdict, event_type, ts, store_id, category, sku, "
               "price, qty, discount, is_return, partition_max_ts, kafka_topic, kafka_partition, "
               "kafka_offset) VALUES " +
               values + " ON CONFLICT (id) DO NOTHING RETURNING kafka_partition, kafka_offset")) {
    stored.emplace(row[0].as<std::int32_t>(), row[1].as<std::int64_t>());
  }
  return stored;
}

}  // namespace millrace::aggregate::tables
