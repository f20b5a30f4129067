#include "kind_tables.hpp"

#include <functional>
#include <unordered_set>
#include <variant>

#include "millrace/pg/array.hpp"
#include "millrace/pg/schema_setup.hpp"

namespace millrace::aggregate {

namespace {

std::string micros_text(core::Int128 micros) {
  const bool negative = micros < 0;
  if (negative) micros = -micros;
  std::string whole;
  core::Int128 w = micros / core::Decimal::kOne;
  do {
    whole.insert(whole.begin(), static_cast<char>('0' + static_cast<int>(w % 10)));
    w /= 10;
  } while (w > 0);
  auto frac = std::to_string(static_cast<std::int64_t>(micros % core::Decimal::kOne));
  frac.insert(frac.begin(), 6 - frac.size(), '0');
  // Exact, with at least two decimals (money reads so); numeric keeps the
  // scale it is given, and a sum the largest of its terms'.
  while (frac.size() > 2 && frac.back() == '0') frac.pop_back();
  return (negative ? "-" : "") + whole + "." + frac;
}

// Adds `sums` to `table`'s rows keyed `key_column` (window_start or item).
template <typename Key>
void upsert(pqxx::work& tx, const std::string& table, const std::string& key_column,
            const std::string& key_type, const std::map<Key, tables::KindSums>& sums,
            const std::function<std::string(const Key&)>& key_text) {
  if (sums.empty()) return;
  pg::ArrayLiteral keys, records, amounts, units;
  for (const auto& [key, s] : sums) {
    keys.add(key_text(key));
    records.add(s.records);
    amounts.add(micros_text(s.amount));
    units.add(s.units);
  }
  tx.exec_params("INSERT INTO " + table + " (" + key_column +
                     ", records, amount, units) SELECT * FROM unnest($1::" + key_type +
                     "[], $2::bigint[], $3::numeric[], $4::bigint[]) ON CONFLICT (" + key_column +
                     ") DO UPDATE SET records = " + table +
                     ".records + EXCLUDED.records, amount = " + table +
                     ".amount + EXCLUDED.amount, units = " + table + ".units + EXCLUDED.units",
                 keys.take(), records.take(), amounts.take(), units.take());
}

}  // namespace

void KindAggregates::on_connect(pqxx::connection& connection) {
  pg::prepare_kind_tables(connection, config_.stream.pg.schema, codec_.declaration(),
                          config_.stream.migrate);
}

namespace tables {

void KindDeltas::fold(const kinds::Record& record) {
  const auto& a = *d_->aggregate;
  KindSums s;
  s.records = 1;
  if (a.amount) s.amount = std::get<core::Decimal>(record.values[*a.amount]).units();
  std::map<std::int64_t, KindSums> mine;
  for (const auto& line : record.lines) {
    if (!a.item) break;
    const auto quantity = std::get<std::int64_t>(line[*a.quantity]);
    s.units += quantity;
    auto& item = mine[std::get<std::int64_t>(line[*a.item])];
    item.units += quantity;
    item.amount +=
        static_cast<core::Int128>(quantity) * std::get<core::Decimal>(line[*a.price]).units();
    item.records = 1;  // a record counts once per product, however many lines
  }
  const auto ts = record.time(*d_);
  for (auto* window : {&hourly_[core::hour_start(ts)], &daily_[core::day_start(ts)]}) {
    window->records += s.records;
    window->amount += s.amount;
    window->units += s.units;
  }
  for (const auto& [item, add] : mine) {
    auto& t = items_[item];
    t.records += add.records;
    t.amount += add.amount;
    t.units += add.units;
  }
}

HeldIds PgKindTables::record_seen_ids(const std::vector<SeenId>& ids) {
  pg::ArrayLiteral id_array, times;
  for (const auto& s : ids) {
    id_array.add(*s.id);
    times.add(core::format_timestamp(s.event_ts));
  }
  std::unordered_set<std::string> fresh;
  for (const auto& r : tx_.exec_params(
           "INSERT INTO aggregator_seen_records (kind, identity, event_ts) SELECT $1, * FROM "
           "unnest($2::text[], $3::timestamptz[]) ON CONFLICT DO NOTHING RETURNING identity",
           d_.kind, id_array.take(), times.take())) {
    fresh.insert(r[0].as<std::string>());
  }
  HeldIds held;
  for (const auto& s : ids) {
    if (!fresh.contains(*s.id)) held.emplace(*s.id, std::nullopt);
  }
  return held;
}

Stored PgKindTables::insert_late(const Late<kinds::Record>& late, const PartitionMax& max_ts) {
  Stored stored;
  if (late.empty()) return stored;
  pg::ArrayLiteral candidates;
  for (const auto& [p, verdict] : late) candidates.add(p->record.identity(d_));
  std::unordered_set<std::string> folded;
  for (const auto& r : tx_.exec_params(
           "SELECT identity FROM aggregator_seen_records WHERE kind = $1 AND identity = "
           "ANY($2::text[])",
           d_.kind, candidates.take())) {
    folded.insert(r[0].as<std::string>());
  }
  pg::ArrayLiteral ids, verdicts, times, maxes, partitions, offsets, payloads;
  std::unordered_set<std::string_view> in_batch;
  for (const auto& [p, verdict] : late) {
    const auto& id = p->record.identity(d_);
    if (folded.contains(id) || !in_batch.insert(id).second) continue;
    ids.add(id);
    verdicts.add(core::to_string(verdict));
    times.add(core::format_timestamp(p->record.time(d_)));
    const auto it = max_ts.find(p->partition);
    maxes.add(it != max_ts.end() && it->second ? core::format_timestamp(*it->second) : "");
    partitions.add(p->partition);
    offsets.add(p->offset);
    payloads.add(p->payload);
  }
  for (const auto& r : tx_.exec_params(
           "INSERT INTO late_records (kind, identity, verdict, event_ts, partition_max_ts, "
           "kafka_topic, kafka_partition, kafka_offset, payload) SELECT $1, i, v, t, "
           "nullif(m, '')::timestamptz, $2, p, o, b FROM unnest($3::text[], $4::text[], "
           "$5::timestamptz[], $6::text[], $7::integer[], $8::bigint[], $9::text[]) AS u(i, v, "
           "t, m, p, o, b) ON CONFLICT DO NOTHING RETURNING kafka_partition, kafka_offset",
           d_.kind, topic_, ids.take(), verdicts.take(), times.take(), maxes.take(),
           partitions.take(), offsets.take(), payloads.take())) {
    stored.insert({r[0].as<std::int32_t>(), r[1].as<std::int64_t>()});
  }
  return stored;
}

void PgKindTables::apply_deltas(const KindDeltas& deltas) {
  const auto& a = *d_.aggregate;
  const std::string agg = "agg_" + a.name;
  const std::function<std::string(const core::TimestampUs&)> ts_text = core::format_timestamp;
  upsert<core::TimestampUs>(tx_, agg + "_hourly", "window_start", "timestamptz", deltas.hourly(),
                            ts_text);
  upsert<core::TimestampUs>(tx_, agg + "_daily", "window_start", "timestamptz", deltas.daily(),
                            ts_text);
  if (a.item) {
    upsert<std::int64_t>(tx_, agg + "_items", "item", "bigint", deltas.items(),
                         [](const std::int64_t& item) { return std::to_string(item); });
  }
}

void PgKindTables::prune_seen_ids(std::int64_t max_lateness_s) {
  tx_.exec_params(
      "DELETE FROM aggregator_seen_records WHERE kind = $1 AND event_ts < (SELECT "
      "min(max_event_ts) FROM aggregator_partitions WHERE topic = $2) - make_interval(secs "
      "=> $3) - interval '1 hour'",
      d_.kind, topic_, static_cast<double>(max_lateness_s));
}

}  // namespace tables

}  // namespace millrace::aggregate
