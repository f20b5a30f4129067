#include "millrace/aggregate/aggregator.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "millrace/core/validation.hpp"
#include "millrace/core/window.hpp"
#include "millrace/pg/array.hpp"
#include "millrace/pg/copy.hpp"

namespace millrace::aggregate {

using std::chrono::milliseconds;

void register_options(core::OptionSet& o, AggregatorConfig& c) {
  stream::register_options(o, c.stream);
  o.add_int("max-lateness-s", "MILLRACE_MAX_LATENESS_S", &c.max_lateness_s,
            "Events older than the newest event time of their partition by more than this many "
            "seconds go to late_events instead of the aggregates; also the dedup horizon",
            0, 10LL * 365 * 86400);
  o.add_int("max-future-s", "MILLRACE_MAX_FUTURE_S", &c.max_future_s,
            "Events ahead of their Kafka record's timestamp by more than this many seconds go to "
            "late_events", 0,
            10LL * 365 * 86400);
}

void validate(AggregatorConfig& c) { stream::validate(c.stream); }

namespace {

// Pruning the dedup table is cheap but not free; once every this many batches.
constexpr std::uint64_t kPruneEvery = 50;
const std::vector<std::string> kSeenIdColumns = {"topic", "id", "ts"};

std::string ts_literal(pqxx::work& tx, core::TimestampUs ts) {
  return tx.quote(core::format_timestamp(ts));
}

struct Pending {
  core::StoreEvent event;
  std::int32_t partition;
  std::int64_t offset;
  std::string payload;  // as consumed, for refused_records should PostgreSQL refuse it
  std::int64_t record_timestamp_ms;  // Kafka's; -1 when the broker gave none
};

// A record PostgreSQL refused, to be stored in refused_records.
struct Refused {
  Pending record;
  std::string sqlstate;
  std::string message;
};

// One batch's parsed events. Lateness and duplicates are decided in write(),
// against what PostgreSQL holds once the batch before has committed.
struct AggregatorBatch final : stream::BatchState {
  std::vector<Pending> pending;
  std::vector<Refused> refused;

  void discard(std::int32_t partition) override {
    std::erase_if(pending, [&](const Pending& p) { return p.partition == partition; });
    std::erase_if(refused, [&](const Refused& r) { return r.record.partition == partition; });
  }
  std::size_t size() const override { return pending.size(); }
  stream::RecordRef record(std::size_t i) const override {
    return {pending[i].partition, pending[i].offset};
  }
  std::unique_ptr<stream::BatchState> slice(std::size_t begin, std::size_t end) const override {
    auto out = std::make_unique<AggregatorBatch>();
    out->pending.assign(pending.begin() + static_cast<std::ptrdiff_t>(begin),
                        pending.begin() + static_cast<std::ptrdiff_t>(end));
    return out;
  }
};

AggregatorBatch& of(stream::BatchState& state) { return static_cast<AggregatorBatch&>(state); }

}  // namespace

class Aggregator::Handler final : public stream::Handler {
 public:
  explicit Handler(const AggregatorConfig& config) : config_(config) {
    policy_.max_lateness_us = config.max_lateness_s * 1'000'000;
    policy_.max_future_us = config.max_future_s * 1'000'000;
  }

  std::unique_ptr<stream::BatchState> open_batch() override {
    return std::make_unique<AggregatorBatch>();
  }

  void handle(const kafka::Message& msg, stream::PartitionProgress& progress,
              stream::BatchState& state) override {
    auto parsed = core::parse_event(msg.payload(), msg.header(core::kHeaderEventType));
    if (const auto* rejection = std::get_if<core::Rejection>(&parsed)) {
      // The sink dead-letters these; here they are only counted.
      progress.tally.count(core::Outcome::kRejected, core::reason_code(rejection->reason));
      return;
    }
    // Provisional: write() re-labels duplicates and late events.
    progress.tally.count(core::Outcome::kPersisted, "");
    of(state).pending.push_back(Pending{std::move(std::get<core::StoreEvent>(parsed)),
                                        msg.partition(), msg.offset(), std::string(msg.payload()),
                                        msg.timestamp_ms().value_or(-1)});
  }

  // Refused records go to refused_records, written by the next write() in
  // the transaction that commits their offsets.
  void refuse(stream::Batch& batch, stream::BatchState& state,
              const std::vector<stream::Refusal>& refused) override {
    auto& agg = of(state);
    for (const auto& r : refused) {
      const auto it = std::find_if(agg.pending.begin(), agg.pending.end(), [&](const Pending& p) {
        return p.partition == r.record.partition && p.offset == r.record.offset;
      });
      if (it == agg.pending.end()) continue;
      batch.at(it->partition).tally.move({core::Outcome::kPersisted, ""}, {core::Outcome::kRejected, "db_refused"}, 1);
      agg.refused.push_back({std::move(*it), r.sqlstate, r.message});
      agg.pending.erase(it);
    }
  }

  void write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) override {
    write_refused(tx, of(state).refused);
    const auto& pending = of(state).pending;
    if (pending.empty()) return;
    const std::string& topic = config_.stream.kafka.topic;

    // 1. Lateness, in offset order per partition, against the newest event
    //    time PostgreSQL holds for the partition (so a replay decides alike).
    std::map<std::int32_t, std::optional<core::TimestampUs>> max_ts;
    for (const auto& row : tx.exec_params(
             "SELECT partition, (extract(epoch FROM max_event_ts) * 1000000)::bigint "
             "FROM aggregator_partitions WHERE topic = $1",
             topic)) {
      max_ts[row[0].as<std::int32_t>()] = row[1].as<std::int64_t>();
    }
    // "Future" is judged against each record's Kafka timestamp, the same for
    // every member and every replay; the database's clock (one for the whole
    // group) stands in for a record without one. Never this host's clock.
    std::optional<core::TimestampUs> db_now;
    const auto reference = [&](const Pending& p) {
      if (p.record_timestamp_ms < 0 && !db_now) {
        db_now = tx.exec1("SELECT (extract(epoch FROM transaction_timestamp()) * 1000000)::bigint")[0]
                     .as<std::int64_t>();
      }
      return core::future_reference(p.record_timestamp_ms, db_now.value_or(0));
    };
    std::vector<const Pending*> on_time;
    std::vector<std::pair<const Pending*, core::TimeVerdict>> late;
    for (const auto& p : pending) {
      auto& m = max_ts[p.partition];
      const auto verdict = core::judge_time(p.event.ts, m, reference(p), policy_);
      if (verdict == core::TimeVerdict::kOnTime) {
        on_time.push_back(&p);
        if (!m || p.event.ts > *m) m = p.event.ts;
      } else {
        late.emplace_back(&p, verdict);
      }
    }

    // 2. Dedup: an id folds once, ever (within the horizon). Repeats within
    //    the batch are dropped here; against earlier batches PostgreSQL decides.
    std::unordered_set<std::string> stored;
    std::unordered_set<std::string_view> batch_ids;
    if (!on_time.empty()) {
      std::vector<SeenId> ids;
      ids.reserve(on_time.size());
      for (const auto* p : on_time) {
        if (!batch_ids.insert(p->event.id).second) continue;  // a repeat within the batch
        // Only pruning reads ts, and the hour is precise enough for it (see
        // step 5). Few distinct values keep its index small: new entries
        // join a few hot leaf pages instead of splitting pages at random.
        ids.push_back({&p->event.id, core::hour_start(p->event.ts)});
      }
      // In id order the primary key's leaf pages are walked in order instead
      // of at random. Ids are lower-case, so text order is uuid order.
      std::sort(ids.begin(), ids.end(),
                [](const SeenId& a, const SeenId& b) { return *a.id < *b.id; });
      seen_.write(
          tx, "direct_seen_ids", [&](pqxx::transaction_base& t) { copy_seen(t, topic, ids); },
          [&] {
            stored = insert_seen(tx, topic, ids);
            return stored.size();
          });
    }
    core::Deltas deltas;
    for (const auto* p : on_time) {
      // The first occurrence in the batch folds, unless the id was stored before.
      if (!stored.contains(p->event.id) && batch_ids.erase(p->event.id) == 1) {
        deltas.fold(p->event);
      } else {
        batch.at(p->partition).tally.move({core::Outcome::kPersisted, ""}, {core::Outcome::kDuplicate, "duplicate_id"}, 1);
      }
    }

    // 3. Late and future events: kept aside with their partition's context,
    //    one row per `late` outcome. An id late_events holds already (or one
    //    repeated in this batch) is a duplicate, not late a second time.
    if (!late.empty()) {
      std::string values;
      for (const auto& [p, verdict] : late) {
        const auto& e = p->event;
        const auto& m = max_ts[p->partition];
        if (!values.empty()) values += ',';
        values += "(" + tx.quote(e.id) + "," + tx.quote(std::string(core::to_string(verdict))) +
                  "," + tx.quote(std::string(core::to_string(e.event_type))) + "," +
                  ts_literal(tx, e.ts) + "," + std::to_string(e.store_id) + "," +
                  tx.quote(e.category) + "," + std::to_string(e.sku) + "," + e.price.to_string() +
                  "," + std::to_string(e.qty) + "," + e.discount.to_string() + "," +
                  (e.is_return ? "true" : "false") + "," +
                  (m ? ts_literal(tx, *m) + "::timestamptz" : std::string("NULL")) + "," +
                  tx.quote(topic) + "," + std::to_string(p->partition) + "," +
                  std::to_string(p->offset) + ")";
      }
      std::set<std::pair<std::int32_t, std::int64_t>> stored_late;
      for (const auto& row : tx.exec(
               "INSERT INTO late_events (id, verdict, event_type, ts, store_id, category, sku, "
               "price, qty, discount, is_return, partition_max_ts, kafka_topic, kafka_partition, "
               "kafka_offset) VALUES " +
               values + " ON CONFLICT (id) DO NOTHING RETURNING kafka_partition, kafka_offset")) {
        stored_late.emplace(row[0].as<std::int32_t>(), row[1].as<std::int64_t>());
      }
      for (const auto& [p, verdict] : late) {
        const bool stored = stored_late.contains({p->partition, p->offset});
        batch.at(p->partition)
            .tally.move({core::Outcome::kPersisted, ""},
                        stored ? stream::OutcomeKey{core::Outcome::kLate, core::to_string(verdict)}
                               : stream::OutcomeKey{core::Outcome::kDuplicate, "duplicate_id"},
                        1);
      }
    }

    // 4. The deltas, as additive upserts.
    if (!deltas.empty()) {
      apply_windows(tx, "agg_hourly", deltas.hourly());
      apply_windows(tx, "agg_daily", deltas.daily());
      apply_products(tx, deltas.products());
      apply_categories(tx, deltas.categories());
    }
    std::string partitions;
    for (const auto& [partition, m] : max_ts) {
      if (!m || !batch.partitions().contains(partition)) continue;
      if (!partitions.empty()) partitions += ',';
      partitions += "(" + tx.quote(topic) + "," + std::to_string(partition) + "," +
                    ts_literal(tx, *m) + "::timestamptz)";
    }
    if (!partitions.empty()) {
      tx.exec(
          "INSERT INTO aggregator_partitions (topic, partition, max_event_ts) VALUES " +
          partitions +
          " ON CONFLICT (topic, partition) DO UPDATE SET max_event_ts = "
          "greatest(aggregator_partitions.max_event_ts, EXCLUDED.max_event_ts)");
    }

    // 5. Forget ids beyond the horizon of every partition: a duplicate that
    //    old is late on arrival and never reaches the aggregates. ts is the
    //    start of the event's hour, so an id is kept up to an hour longer
    //    than the horizon, never shorter.
    if (++batches_ % kPruneEvery == 0) {
      tx.exec_params(
          "DELETE FROM aggregator_seen_ids WHERE topic = $1 AND ts < (SELECT min(max_event_ts) "
          "FROM aggregator_partitions WHERE topic = $1) - make_interval(secs => $2) - "
          "interval '1 hour'",
          topic, static_cast<double>(config_.max_lateness_s));
    }
  }

 private:
  struct SeenId {
    const std::string* id;  // the event's, alive for the whole write()
    core::TimestampUs hour;
  };

  void write_refused(pqxx::work& tx, const std::vector<Refused>& refused) const {
    if (refused.empty()) return;
    pg::ArrayLiteral partitions, offsets, states, messages, payloads;
    for (const auto& r : refused) {
      partitions.add(r.record.partition);
      offsets.add(r.record.offset);
      states.add(r.sqlstate);
      messages.add(r.message);
      payloads.add(r.record.payload);
    }
    // A replayed batch refuses the same records again: stored once.
    tx.exec_params(
        "INSERT INTO refused_records (group_id, topic, partition, kafka_offset, sqlstate, "
        "db_message, payload) SELECT $1, $2, * FROM unnest($3::integer[], $4::bigint[], "
        "$5::text[], $6::text[], $7::text[]) ON CONFLICT DO NOTHING",
        config_.stream.group, config_.stream.kafka.topic, partitions.take(), offsets.take(),
        states.take(), messages.take(), payloads.take());
  }

  static void copy_seen(pqxx::transaction_base& tx, const std::string& topic,
                        const std::vector<SeenId>& ids) {
    pg::CopyWriter copy(tx, "aggregator_seen_ids", kSeenIdColumns);
    // A batch spans few hours: each is formatted once.
    std::map<core::TimestampUs, std::string> hours;
    for (const auto& s : ids) {
      auto [it, added] = hours.try_emplace(s.hour);
      if (added) it->second = core::format_timestamp(s.hour);
      copy.row().text(topic).text(*s.id).text(it->second);
      copy.end_row();
    }
    copy.complete();
  }

  // The ids PostgreSQL held already. It answers with those, usually a few,
  // instead of echoing every new one.
  static std::unordered_set<std::string> insert_seen(pqxx::work& tx, const std::string& topic,
                                                     const std::vector<SeenId>& ids) {
    pg::ArrayLiteral id_array;
    pg::ArrayLiteral times;
    for (const auto& s : ids) {
      id_array.add(*s.id);
      times.add(core::format_timestamp(s.hour));
    }
    std::unordered_set<std::string> stored;
    for (const auto& row : tx.exec_params(
             "WITH batch AS (SELECT * FROM unnest($1::uuid[], $2::timestamptz[]) AS b(id, ts)), "
             "ins AS (INSERT INTO aggregator_seen_ids (topic, id, ts) SELECT $3, id, ts FROM batch "
             "ORDER BY id ON CONFLICT (topic, id) DO NOTHING RETURNING id) "
             "SELECT id::text FROM batch WHERE id NOT IN (SELECT id FROM ins)",
             id_array.take(), times.take(), topic)) {
      stored.insert(row[0].as<std::string>());
    }
    return stored;
  }

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

  static void apply_windows(pqxx::work& tx, const std::string& table,
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
            "events = " + table + ".events + EXCLUDED.events, units = " + table +
            ".units + EXCLUDED.units, revenue = " + table +
            ".revenue + EXCLUDED.revenue, discount_total = " + table +
            ".discount_total + EXCLUDED.discount_total, returns = " + table +
            ".returns + EXCLUDED.returns",
        starts.take(), types.take(), categories.take(), totals.events.take(), totals.units.take(),
        totals.revenue.take(), totals.discount_total.take(), totals.returns.take());
  }

  static void apply_products(pqxx::work& tx,
                             const std::map<std::int64_t, core::ProductTotals>& products) {
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

  static void apply_categories(pqxx::work& tx,
                               const std::map<std::string, core::Totals>& categories) {
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

  const AggregatorConfig& config_;
  core::LatenessPolicy policy_;
  std::uint64_t batches_ = 0;  // commit thread only (write())
  // The ids usually COPYed straight in, as the sink does with its rows.
  pg::OptimisticCopy seen_;  // commit thread only (write())
};

Aggregator::Aggregator(AggregatorConfig config, metrics::Registry& metrics)
    : config_(std::move(config)),
      handler_(std::make_unique<Handler>(config_)),
      consumer_(std::make_unique<stream::TransactionalConsumer>(config_.stream, *handler_,
                                                                "aggregator", metrics)) {}

Aggregator::~Aggregator() { Stop(); }
void Aggregator::Start() { consumer_->Start(); }
void Aggregator::Stop() { consumer_->Stop(); }
bool Aggregator::wait(milliseconds timeout) { return consumer_->wait(timeout); }
void Aggregator::rethrow_failure() { consumer_->rethrow_failure(); }
stream::StreamStats Aggregator::stats() const { return consumer_->stats(); }

}  // namespace millrace::aggregate
