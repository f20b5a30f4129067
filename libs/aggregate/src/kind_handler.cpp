#include "kind_handler.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>
#include <utility>

#include "millrace/pg/array.hpp"
#include "millrace/pg/schema_setup.hpp"

namespace millrace::aggregate::detail {

namespace {

KindAggregatorBatch& of_kind(stream::BatchState& state) {
  return static_cast<KindAggregatorBatch&>(state);
}

// One window's or product's additions, exact: amounts in micro-units.
struct Sums {
  std::int64_t records = 0;
  core::Int128 amount = 0;
  std::int64_t units = 0;
};

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
            const std::string& key_type, const std::map<Key, Sums>& sums,
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

void KindAggregatorBatch::discard(std::int32_t partition) {
  std::erase_if(pending, [&](const KindPending& p) { return p.partition == partition; });
  std::erase_if(refused, [&](const KindRefused& r) { return r.record.partition == partition; });
}

std::unique_ptr<stream::BatchState> KindAggregatorBatch::slice(std::size_t begin,
                                                               std::size_t end) const {
  auto out = std::make_unique<KindAggregatorBatch>();
  out->pending.assign(pending.begin() + static_cast<std::ptrdiff_t>(begin),
                      pending.begin() + static_cast<std::ptrdiff_t>(end));
  return out;
}

KindAggregatorHandler::KindAggregatorHandler(const AggregatorConfig& config)
    : config_(config), d_(*config.kinds.declaration) {
  policy_.max_lateness_us = config.max_lateness_s * 1'000'000;
  policy_.max_future_us = config.max_future_s * 1'000'000;
}

void KindAggregatorHandler::on_connect(pqxx::connection& connection) {
  pg::prepare_kind_tables(connection, config_.stream.pg.schema, d_, config_.stream.migrate);
}

void KindAggregatorHandler::handle(const kafka::Message& msg, stream::PartitionProgress& progress,
                                   stream::BatchState& state) {
  auto parsed = kinds::parse_record(d_, msg.payload());
  if (const auto* rejection = std::get_if<core::Rejection>(&parsed)) {
    // The sink dead-letters these; here they are only counted.
    progress.tally.count(core::Outcome::kRejected, core::reason_code(rejection->reason));
    return;
  }
  // Provisional: write() re-labels duplicates and late records.
  progress.tally.count(core::Outcome::kPersisted, "");
  of_kind(state).pending.push_back(
      KindPending{std::move(std::get<kinds::Record>(parsed)), msg.partition(), msg.offset(),
                  std::string(msg.payload()), msg.timestamp_ms().value_or(-1)});
}

void KindAggregatorHandler::refuse(stream::Batch& batch, stream::BatchState& state,
                                   const std::vector<stream::Refusal>& refused) {
  move_refused(batch, of_kind(state).pending, of_kind(state).refused, refused);
}

// One batch, inside its transaction, as the store events' aggregator does:
// refused records first, then lateness, the identities never seen, the
// late records kept aside, the sums, the partitions' newest times, and now
// and then the identities past the horizon forgotten.
void KindAggregatorHandler::write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) {
  const auto& topic = config_.stream.kafka.topic;
  {
    std::vector<tables::RefusedRow> rows;
    for (const auto& r : of_kind(state).refused) {
      rows.push_back(
          {r.record.partition, r.record.offset, r.sqlstate, r.message, r.record.payload});
    }
    tables::insert_refused(tx, config_.stream.group, topic, rows);
  }
  const auto& pending = of_kind(state).pending;
  if (pending.empty()) return;

  // 1. Lateness, in offset order per partition.
  auto max_ts = tables::read_partition_max(tx, topic);
  std::optional<core::TimestampUs> db_now;
  std::vector<const KindPending*> on_time;
  std::vector<std::pair<const KindPending*, core::TimeVerdict>> late;
  for (const auto& p : pending) {
    if (p.record_timestamp_ms < 0 && !db_now) db_now = tables::database_now(tx);
    const auto reference = core::future_reference(p.record_timestamp_ms, db_now.value_or(0));
    auto& m = max_ts[p.partition];
    const auto ts = p.record.time(d_);
    const auto verdict = core::judge_time(ts, m, reference, policy_);
    if (verdict == core::TimeVerdict::kOnTime) {
      on_time.push_back(&p);
      if (!m || ts > *m) m = ts;
    } else {
      late.emplace_back(&p, verdict);
    }
  }

  // 2. The identities never seen fold; the first of a batch's repeats wins.
  std::unordered_set<std::string> held;
  {
    pg::ArrayLiteral ids, times;
    std::unordered_set<std::string_view> in_batch;
    for (const auto* p : on_time) {
      const auto& id = p->record.identity(d_);
      if (!in_batch.insert(id).second) continue;
      ids.add(id);
      times.add(core::format_timestamp(p->record.time(d_)));
    }
    std::unordered_set<std::string> fresh;
    for (const auto& r : tx.exec_params(
             "INSERT INTO aggregator_seen_records (kind, identity, event_ts) SELECT $1, * FROM "
             "unnest($2::text[], $3::timestamptz[]) ON CONFLICT DO NOTHING RETURNING identity",
             d_.kind, ids.take(), times.take())) {
      fresh.insert(r[0].as<std::string>());
    }
    held.swap(fresh);  // now: the identities this batch folds
  }
  const auto& a = *d_.aggregate;
  std::map<core::TimestampUs, Sums> hourly, daily;
  std::map<std::int64_t, Sums> items;
  for (const auto* p : on_time) {
    auto& tally = batch.at(p->partition).tally;
    const auto& id = p->record.identity(d_);
    if (held.erase(id) == 0) {
      tally.move({core::Outcome::kPersisted, ""}, {core::Outcome::kDuplicate, "duplicate_id"}, 1);
      continue;
    }
    Sums s;
    s.records = 1;
    if (a.amount) s.amount = std::get<core::Decimal>(p->record.values[*a.amount]).units();
    std::map<std::int64_t, Sums> mine;
    for (const auto& line : p->record.lines) {
      if (!a.item) break;
      const auto quantity = std::get<std::int64_t>(line[*a.quantity]);
      s.units += quantity;
      auto& item = mine[std::get<std::int64_t>(line[*a.item])];
      item.units += quantity;
      item.amount +=
          static_cast<core::Int128>(quantity) * std::get<core::Decimal>(line[*a.price]).units();
      item.records = 1;  // a record counts once per product, however many lines
    }
    const auto ts = p->record.time(d_);
    for (auto* window : {&hourly[core::hour_start(ts)], &daily[core::day_start(ts)]}) {
      window->records += s.records;
      window->amount += s.amount;
      window->units += s.units;
    }
    for (const auto& [item, add] : mine) {
      auto& t = items[item];
      t.records += add.records;
      t.amount += add.amount;
      t.units += add.units;
    }
  }

  // 3. Late and future records aside. One folded before (a resend that
  //    comes after its partition moved on) or kept aside before is a
  //    duplicate.
  if (!late.empty()) {
    pg::ArrayLiteral candidates;
    for (const auto& [p, verdict] : late) candidates.add(p->record.identity(d_));
    std::unordered_set<std::string> folded;
    for (const auto& r : tx.exec_params(
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
      const auto m = max_ts[p->partition];
      maxes.add(m ? core::format_timestamp(*m) : "");
      partitions.add(p->partition);
      offsets.add(p->offset);
      payloads.add(p->payload);
    }
    std::set<std::pair<std::int32_t, std::int64_t>> stored;
    for (const auto& r : tx.exec_params(
             "INSERT INTO late_records (kind, identity, verdict, event_ts, partition_max_ts, "
             "kafka_topic, kafka_partition, kafka_offset, payload) SELECT $1, i, v, t, "
             "nullif(m, '')::timestamptz, $2, p, o, b FROM unnest($3::text[], $4::text[], "
             "$5::timestamptz[], $6::text[], $7::integer[], $8::bigint[], $9::text[]) AS u(i, v, "
             "t, m, p, o, b) ON CONFLICT DO NOTHING RETURNING kafka_partition, kafka_offset",
             d_.kind, topic, ids.take(), verdicts.take(), times.take(), maxes.take(),
             partitions.take(), offsets.take(), payloads.take())) {
      stored.insert({r[0].as<std::int32_t>(), r[1].as<std::int64_t>()});
    }
    for (const auto& [p, verdict] : late) {
      const bool kept = stored.contains({p->partition, p->offset});
      batch.at(p->partition)
          .tally.move({core::Outcome::kPersisted, ""},
                      kept ? stream::OutcomeKey{core::Outcome::kLate, core::to_string(verdict)}
                           : stream::OutcomeKey{core::Outcome::kDuplicate, "duplicate_id"},
                      1);
    }
  }

  // 4. The sums, and the partitions' newest event times.
  const std::string agg = "agg_" + a.name;
  const std::function<std::string(const core::TimestampUs&)> ts_text = core::format_timestamp;
  upsert<core::TimestampUs>(tx, agg + "_hourly", "window_start", "timestamptz", hourly, ts_text);
  upsert<core::TimestampUs>(tx, agg + "_daily", "window_start", "timestamptz", daily, ts_text);
  if (a.item) {
    upsert<std::int64_t>(tx, agg + "_items", "item", "bigint", items,
                         [](const std::int64_t& item) { return std::to_string(item); });
  }
  std::set<std::int32_t> partitions;
  for (const auto& [partition, progress] : batch.partitions()) partitions.insert(partition);
  tables::advance_partition_max(tx, topic, max_ts, partitions);

  // 5. Identities older than every partition's horizon, plus an hour, are
  //    forgotten: a resend of one of them is late, and never folds.
  if (++batches_ % tables::kPruneEvery == 0) {
    tx.exec_params(
        "DELETE FROM aggregator_seen_records WHERE kind = $1 AND event_ts < (SELECT "
        "min(max_event_ts) FROM aggregator_partitions WHERE topic = $2) - make_interval(secs "
        "=> $3) - interval '1 hour'",
        d_.kind, topic, static_cast<double>(config_.max_lateness_s));
  }
}

}  // namespace millrace::aggregate::detail
