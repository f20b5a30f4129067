#include "handler.hpp"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include "millrace/core/event_type.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/kinds/record.hpp"

namespace millrace::aggregate::detail {

AggregatorHandler::AggregatorHandler(const AggregatorConfig& config, metrics::Registry& metrics)
    : config_(config), kind_(config, metrics) {
  policy_.max_lateness_us = config.max_lateness_s * 1'000'000;
  policy_.max_future_us = config.max_future_s * 1'000'000;
}

namespace {

// A record taken from the pool was last written a batch or two ago, and
// has left the cache: the parse's writes into its values missed it (most
// of check_value's samples). The next message's record is asked for while
// this one is parsed.
void prefetch_values(const kinds::Record& r) {
  const auto* bytes = reinterpret_cast<const char*>(r.values.data());
  const std::size_t size = r.values.size() * sizeof(kinds::Value);
  for (std::size_t at = 0; at < size; at += 64) __builtin_prefetch(bytes + at, 1);
}

}  // namespace

void AggregatorHandler::handle(const kafka::Message& msg, stream::PartitionProgress& progress,
                               stream::BatchState& state) {
  auto& b = static_cast<Batch&>(state);
  auto p = b.next_record();
  if (!b.spare.empty()) prefetch_values(b.spare.back().record);
  const auto rejection =
      kind_.codec().parse_into(msg.payload(), msg.header(core::kHeaderEventType), p.record);
  if (rejection) {
    // The sink dead-letters these; here they are only counted.
    progress.tally.count(core::Outcome::kRejected, core::reason_code(rejection->reason));
    b.spare.push_back(std::move(p));
    return;
  }
  // Provisional: write() re-labels duplicates and late records.
  progress.tally.count(core::Outcome::kPersisted, "");
  p.partition = msg.partition();
  p.offset = msg.offset();
  p.payload.assign(msg.payload());
  p.record_timestamp_ms = msg.timestamp_ms().value_or(-1);
  p.time = kind_.codec().time(p.record);
  p.id_order = kind_.id_order(kind_.codec().identity(p.record));
  b.pending.push_back(std::move(p));
}

// Refused records go to refused_records, written by the next write() in
// the transaction that commits their offsets.
void AggregatorHandler::refuse(stream::Batch& batch, stream::BatchState& state,
                               const std::vector<stream::Refusal>& refused) {
  static_cast<Batch&>(state).move_refused(batch, refused);
}

void AggregatorHandler::write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) {
  auto tables = kind_.pg_tables(tx);
  write_to(tables, batch, state);
}

// One batch, in this order, inside its transaction: refused records first
// (from an earlier attempt), then
//   1. judge lateness against the newest event time per partition;
//   2. fold the on-time records whose identities were never seen;
//   3. keep late and future records aside;
//   4. add the folded deltas to the aggregates, and move the partitions'
//      newest event times on;
//   5. now and then, forget identities beyond the dedup horizon.
void AggregatorHandler::write_to(Tables& tables, stream::Batch& batch, stream::BatchState& state) {
  const auto& b = static_cast<Batch&>(state);
  {
    std::vector<tables::RefusedRow> rows;
    rows.reserve(b.refused.size());
    for (const auto& r : b.refused) {
      rows.push_back(
          {r.record.partition, r.record.offset, r.sqlstate, r.message, r.record.payload});
    }
    tables.insert_refused(rows);
  }
  if (b.pending.empty()) return;
  auto judged = judge_lateness(tables, b.pending);
  const auto deltas = fold_new(tables, batch, judged.on_time);
  keep_late(tables, batch, judged);
  tables.apply_deltas(deltas);
  std::set<std::int32_t> partitions;
  for (const auto& [partition, progress] : batch.partitions()) partitions.insert(partition);
  tables.advance_partition_max(judged.max_ts, partitions);
  if (++batches_ % tables::kPruneEvery == 0) tables.prune_seen_ids(config_.max_lateness_s);
}

// Step 1. In offset order per partition, against the newest event time
// PostgreSQL holds for the partition, so a replay decides alike.
AggregatorHandler::Judged AggregatorHandler::judge_lateness(
    Tables& tables, const std::vector<Pending<Record>>& pending) const {
  Judged out;
  out.max_ts = tables.read_partition_max();
  // "Future" is judged against each record's Kafka timestamp, the same for
  // every member and every replay; the database's clock (one for the whole
  // group) stands in for a record without one. Never this host's clock.
  std::optional<core::TimestampUs> db_now;
  const auto reference = [&](const Pending<Record>& p) {
    if (p.record_timestamp_ms < 0 && !db_now) db_now = tables.database_now();
    return core::future_reference(p.record_timestamp_ms, db_now.value_or(0));
  };
  for (const auto& p : pending) {
    auto& m = out.max_ts[p.partition];
    const auto ts = p.time;
    const auto verdict = core::judge_time(ts, m, reference(p), policy_);
    if (verdict == core::TimeVerdict::kOnTime) {
      out.on_time.push_back(&p);
      if (!m || ts > *m) m = ts;
    } else {
      out.late.emplace_back(&p, verdict);
    }
  }
  return out;
}

// Step 2. A record folds once, ever (within the horizon). The first record
// of each identity in the batch goes to the kind's seen identities;
// PostgreSQL says which it held already (and, for the store event, at which
// time). A repeat is re-counted as a duplicate. Where a kind reuses ids
// (KindAggregates::ids_reused(): the store event), the same id at another
// time is a new event reusing the id, as the store keeps it; it folds, accounted `persisted`
// with the reason `id_reused`, once aggregator_reused_ids takes it (a resend
// of one of those is a duplicate too).
AggregatorHandler::Kind::Deltas AggregatorHandler::fold_new(
    Tables& tables, stream::Batch& batch,
    const std::vector<const Pending<Record>*>& on_time) const {
  const auto& codec = kind_.codec();
  enum class Role { kFirst, kReused, kRepeat };
  std::vector<Role> roles(on_time.size(), Role::kFirst);
  std::vector<tables::SeenId> ids;
  ids.reserve(on_time.size());
  {
    // The records in identity order, each identity's first record in the
    // batch first, sorted by the kind's id_order() and grouped with their
    // neighbours. In identity order the primary key's leaf pages are walked
    // in order instead of at random. Equal keys are compared as text too,
    // so the grouping never rests on the identities' form.
    struct Keyed {
      UuidBits order;
      std::uint32_t index;  // in on_time
    };
    std::vector<Keyed> keyed;
    keyed.reserve(on_time.size());
    for (std::size_t i = 0; i < on_time.size(); ++i) {
      keyed.push_back({on_time[i]->id_order, static_cast<std::uint32_t>(i)});
    }
    const auto id_of = [&](const Keyed& k) -> const std::string& {
      return codec.identity(on_time[k.index]->record);
    };
    std::sort(keyed.begin(), keyed.end(), [&](const Keyed& a, const Keyed& b) {
      if (a.order != b.order) return a.order < b.order;
      if (const int c = id_of(a).compare(id_of(b)); c != 0) return c < 0;
      return a.index < b.index;
    });
    for (std::size_t g = 0; g < keyed.size();) {
      const auto& first = on_time[keyed[g].index]->record;
      const auto& first_id = codec.identity(first);
      const auto first_ts = on_time[keyed[g].index]->time;
      // Only pruning reads the hour. Few distinct values keep its index
      // small: new entries join a few hot leaf pages instead of splitting
      // pages at random.
      ids.push_back({&first_id, core::hour_start(first_ts), first_ts});
      std::size_t j = g + 1;
      for (; j < keyed.size() && keyed[j].order == keyed[g].order && id_of(keyed[j]) == first_id;
           ++j) {
        // Same id, same time: a resend; another time: a new event reusing it.
        const bool same_time = on_time[keyed[j].index]->time == first_ts;
        roles[keyed[j].index] = !kind_.ids_reused() || same_time ? Role::kRepeat : Role::kReused;
      }
      g = j;
    }
  }
  const tables::HeldIds held = ids.empty() ? tables::HeldIds{} : tables.record_seen_ids(ids);
  std::vector<tables::SeenId> reused;
  for (std::size_t i = 0; i < on_time.size(); ++i) {
    const auto& record = on_time[i]->record;
    if (roles[i] == Role::kFirst) {
      const auto it = held.find(codec.identity(record));
      if (it == held.end()) continue;
      const bool same_time = !it->second || *it->second == on_time[i]->time;
      roles[i] = !kind_.ids_reused() || same_time ? Role::kRepeat : Role::kReused;
    } else if (roles[i] == Role::kReused) {
      // Another time than its batch's first of the id, but maybe the time
      // held before the batch: a resend of that event.
      const auto it = held.find(codec.identity(record));
      if (it != held.end() && it->second && *it->second == on_time[i]->time) {
        roles[i] = Role::kRepeat;
      }
    }
    if (roles[i] == Role::kReused) reused.push_back({&codec.identity(record), 0, on_time[i]->time});
  }
  std::set<tables::EventKey> new_reused;
  if (kind_.ids_reused()) new_reused = tables.insert_reused_ids(reused);
  auto deltas = kind_.deltas();
  for (std::size_t i = 0; i < on_time.size(); ++i) {
    const auto* p = on_time[i];
    auto& tally = batch.at(p->partition).tally;
    if (roles[i] == Role::kFirst) {
      deltas.fold(p->record);
    } else if (roles[i] == Role::kReused &&
               new_reused.erase({codec.identity(p->record), p->time}) == 1) {
      deltas.fold(p->record);
      tally.move({core::Outcome::kPersisted, ""}, {core::Outcome::kPersisted, "id_reused"}, 1);
    } else {
      tally.move({core::Outcome::kPersisted, ""}, {core::Outcome::kDuplicate, "duplicate_id"}, 1);
    }
  }
  return deltas;
}

// Step 3. Late and future records are kept aside with their partition's
// context, one row per `late` outcome. One the kind's table holds already
// (or one repeated in this batch) is a duplicate, not late a second time.
void AggregatorHandler::keep_late(Tables& tables, stream::Batch& batch, const Judged& judged) {
  if (judged.late.empty()) return;
  const auto stored = tables.insert_late(judged.late, judged.max_ts);
  for (const auto& [p, verdict] : judged.late) {
    const bool kept = stored.contains({p->partition, p->offset});
    batch.at(p->partition)
        .tally.move({core::Outcome::kPersisted, ""},
                    kept ? stream::OutcomeKey{core::Outcome::kLate, core::to_string(verdict)}
                         : stream::OutcomeKey{core::Outcome::kDuplicate, "duplicate_id"},
                    1);
  }
}

}  // namespace millrace::aggregate::detail
