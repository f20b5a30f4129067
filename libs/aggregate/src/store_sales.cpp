#include "store_sales.hpp"

#include "millrace/pg/array.hpp"

namespace millrace::aggregate::tables {

namespace {

// The totals of many keys as parallel arrays, for unnest().
struct TotalsArrays {
  pg::ArrayLiteral events, units, revenue, discount_total, returns;
  void add(const core::Totals& t) {
    events.add(t.events);
    units.add(t.units);
    revenue.add(t.revenue.to_string());
    discount_total.add(t.discount_total.to_string());
    returns.add(t.returns);
  }
};

void apply_windows(pqxx::work& tx, const std::string& table,
                   const std::map<core::WindowKey, core::Totals>& windows) {
  pg::ArrayLiteral starts, types, categories;
  TotalsArrays totals;
  for (const auto& [key, t] : windows) {
    starts.add(core::format_timestamp(key.window_start));
    types.add(core::to_string(key.event_type));
    categories.add(key.category);
    totals.add(t);
  }
  tx.exec_params(
      "INSERT INTO " + table +
          " (window_start, event_type, category, events, units, revenue, discount_total, "
          "returns) SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], "
          "$4::bigint[], $5::bigint[], $6::numeric[], $7::numeric[], $8::bigint[]) "
          "ON CONFLICT (window_start, event_type, category) DO UPDATE SET "
          "events = " +
          table + ".events + EXCLUDED.events, units = " + table +
          ".units + EXCLUDED.units, revenue = " + table +
          ".revenue + EXCLUDED.revenue, discount_total = " + table +
          ".discount_total + EXCLUDED.discount_total, returns = " + table +
          ".returns + EXCLUDED.returns",
      starts.take(), types.take(), categories.take(), totals.events.take(), totals.units.take(),
      totals.revenue.take(), totals.discount_total.take(), totals.returns.take());
}

void apply_products(pqxx::work& tx, const std::map<std::int64_t, core::ProductTotals>& products) {
  if (products.empty()) return;
  pg::ArrayLiteral skus, units, revenue;
  for (const auto& [sku, t] : products) {
    skus.add(sku);
    units.add(t.units);
    revenue.add(t.revenue.to_string());
  }
  tx.exec_params(
      "INSERT INTO agg_products (sku, units, revenue) "
      "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::numeric[]) "
      "ON CONFLICT (sku) DO UPDATE SET units = agg_products.units + EXCLUDED.units, "
      "revenue = agg_products.revenue + EXCLUDED.revenue",
      skus.take(), units.take(), revenue.take());
}

void apply_categories(pqxx::work& tx, const std::map<std::string, core::Totals>& categories) {
  if (categories.empty()) return;
  pg::ArrayLiteral names;
  TotalsArrays totals;
  for (const auto& [category, t] : categories) {
    names.add(category);
    totals.add(t);
  }
  tx.exec_params(
      "INSERT INTO agg_categories (category, events, units, revenue, returns) "
      "SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::numeric[], "
      "$5::bigint[]) "
      "ON CONFLICT (category) DO UPDATE SET events = agg_categories.events + "
      "EXCLUDED.events, units = agg_categories.units + EXCLUDED.units, revenue = "
      "agg_categories.revenue + EXCLUDED.revenue, returns = agg_categories.returns + "
      "EXCLUDED.returns",
      names.take(), totals.events.take(), totals.units.take(), totals.revenue.take(),
      totals.returns.take());
}

}  // namespace

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

void apply_deltas(pqxx::work& tx, const core::Deltas& deltas) {
  if (deltas.empty()) return;
  apply_windows(tx, "agg_hourly", deltas.hourly());
  apply_windows(tx, "agg_daily", deltas.daily());
  apply_products(tx, deltas.products());
  apply_categories(tx, deltas.categories());
}

}  // namespace millrace::aggregate::tables
