#include "handler.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "millrace/core/validation.hpp"

namespace millrace::aggregate::detail {

namespace {

// A UUID's 128 bits, its hex digits read in order (dashes skipped).
using UuidBits = std::pair<std::uint64_t, std::uint64_t>;
UuidBits uuid_bits(std::string_view id) {
  UuidBits out{0, 0};
  int digits = 0;
  for (const char c : id) {
    std::uint64_t v;
    if (c >= '0' && c <= '9') {
      v = static_cast<std::uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v = static_cast<std::uint64_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v = static_cast<std::uint64_t>(c - 'A' + 10);
    } else {
      continue;
    }
    auto& half = digits < 16 ? out.first : out.second;
    half = (half << 4) | v;
    ++digits;
  }
  return out;
}

}  // namespace

AggregatorHandler::AggregatorHandler(const AggregatorConfig& config) : config_(config) {
  policy_.max_lateness_us = config.max_lateness_s * 1'000'000;
  policy_.max_future_us = config.max_future_s * 1'000'000;
}

void AggregatorHandler::on_connect(pqxx::connection& connection) {
  topic_id_ = tables::topic_number(connection, config_.stream.kafka.topic);
}

std::unique_ptr<stream::BatchState> AggregatorHandler::open_batch() {
  return std::make_unique<AggregatorBatch>();
}

void AggregatorHandler::handle(const kafka::Message& msg, stream::PartitionProgress& progress,
                               stream::BatchState& state) {
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
void AggregatorHandler::refuse(stream::Batch& batch, stream::BatchState& state,
                               const std::vector<stream::Refusal>& refused) {
  move_refused(batch, of(state).pending, of(state).refused, refused);
}

void AggregatorHandler::write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) {
  tables::PgBatchTables tables(tx, config_.stream.group, config_.stream.kafka.topic, topic_id_,
                               seen_);
  write_to(tables, batch, state);
}

// One batch, in this order, inside its transaction: refused records first
// (from an earlier attempt), then
//   1. judge lateness against the newest event time per partition;
//   2. fold the on-time events whose ids were never seen;
//   3. keep late and future events aside in late_events;
//   4. add the folded deltas to the aggregates, and move the partitions'
//      newest event times on;
//   5. now and then, forget ids beyond the dedup horizon.
void AggregatorHandler::write_to(tables::BatchTables& tables, stream::Batch& batch,
                                 stream::BatchState& state) {
  tables.insert_refused(of(state).refused);
  const auto& pending = of(state).pending;
  if (pending.empty()) return;
  auto judged = judge_lateness(tables, pending);
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
    tables::BatchTables& tables, const std::vector<Pending>& pending) const {
  Judged out;
  out.max_ts = tables.read_partition_max();
  // "Future" is judged against each record's Kafka timestamp, the same for
  // every member and every replay; the database's clock (one for the whole
  // group) stands in for a record without one. Never this host's clock.
  std::optional<core::TimestampUs> db_now;
  const auto reference = [&](const Pending& p) {
    if (p.record_timestamp_ms < 0 && !db_now) db_now = tables.database_now();
    return core::future_reference(p.record_timestamp_ms, db_now.value_or(0));
  };
  for (const auto& p : pending) {
    auto& m = out.max_ts[p.partition];
    const auto verdict = core::judge_time(p.event.ts, m, reference(p), policy_);
    if (verdict == core::TimeVerdict::kOnTime) {
      out.on_time.push_back(&p);
      if (!m || p.event.ts > *m) m = p.event.ts;
    } else {
      out.late.emplace_back(&p, verdict);
    }
  }
  return out;
}

// Step 2. An event (an id and its time) folds once, ever (within the
// horizon). The first event of each id in the batch goes to
// aggregator_seen_ids; PostgreSQL says which ids it held already, and at
// which time. Same id, same time (or no time kept): a resend, re-counted
// as a duplicate. Same id, another time: a new event reusing the id, as
// the store keeps it; it folds, accounted `persisted` with the reason
// `id_reused`, once aggregator_reused_ids takes it (a resend of one of
// those is a duplicate too).
core::Deltas AggregatorHandler::fold_new(tables::BatchTables& tables, stream::Batch& batch,
                                         const std::vector<const Pending*>& on_time) {
  enum class Role { kFirst, kReused, kRepeat };
  std::vector<Role> roles(on_time.size(), Role::kFirst);
  std::vector<tables::SeenId> ids;
  ids.reserve(on_time.size());
  {
    // The events in id order, each id's first event in the batch first,
    // sorted by the ids' 128 bits (integer comparisons) and grouped with
    // their neighbours, where sorting the ids' text and a hash table of them
    // took the commit thread about 5 % longer (docs/benchmarks.md, change 26).
    // In id order the primary key's leaf pages are walked in order instead
    // of at random; the ids are canonical (lower-case), so their bits' order
    // is their text's. Equal bits are compared as text too, so the grouping
    // never rests on the ids' form.
    struct Keyed {
      UuidBits bits;
      std::uint32_t index;  // in on_time
    };
    std::vector<Keyed> keyed;
    keyed.reserve(on_time.size());
    for (std::size_t i = 0; i < on_time.size(); ++i) {
      keyed.push_back({uuid_bits(on_time[i]->event.id), static_cast<std::uint32_t>(i)});
    }
    const auto id_of = [&](const Keyed& k) -> const std::string& {
      return on_time[k.index]->event.id;
    };
    std::sort(keyed.begin(), keyed.end(), [&](const Keyed& a, const Keyed& b) {
      if (a.bits != b.bits) return a.bits < b.bits;
      if (const int c = id_of(a).compare(id_of(b)); c != 0) return c < 0;
      return a.index < b.index;
    });
    for (std::size_t g = 0; g < keyed.size();) {
      const auto& first = on_time[keyed[g].index]->event;
      // Only pruning reads the hour. Few distinct values keep its index
      // small: new entries join a few hot leaf pages instead of splitting
      // pages at random.
      ids.push_back({&first.id, core::hour_start(first.ts), first.ts});
      std::size_t j = g + 1;
      for (; j < keyed.size() && keyed[j].bits == keyed[g].bits && id_of(keyed[j]) == first.id;
           ++j) {
        // Same id, same time: a resend; another time: a new event reusing it.
        roles[keyed[j].index] =
            on_time[keyed[j].index]->event.ts == first.ts ? Role::kRepeat : Role::kReused;
      }
      g = j;
    }
  }
  const tables::HeldIds held = ids.empty() ? tables::HeldIds{} : tables.record_seen_ids(ids);
  std::vector<tables::SeenId> reused;
  for (std::size_t i = 0; i < on_time.size(); ++i) {
    const auto& event = on_time[i]->event;
    if (roles[i] == Role::kFirst) {
      const auto it = held.find(event.id);
      if (it == held.end()) continue;
      roles[i] = !it->second || *it->second == event.ts ? Role::kRepeat : Role::kReused;
    }
    if (roles[i] == Role::kReused) reused.push_back({&event.id, 0, event.ts});
  }
  auto new_reused = tables.insert_reused_ids(reused);
  core::Deltas deltas;
  for (std::size_t i = 0; i < on_time.size(); ++i) {
    const auto* p = on_time[i];
    auto& tally = batch.at(p->partition).tally;
    if (roles[i] == Role::kFirst) {
      deltas.fold(p->event);
    } else if (roles[i] == Role::kReused && new_reused.erase({p->event.id, p->event.ts}) == 1) {
      deltas.fold(p->event);
      tally.move({core::Outcome::kPersisted, ""}, {core::Outcome::kPersisted, "id_reused"}, 1);
    } else {
      tally.move({core::Outcome::kPersisted, ""}, {core::Outcome::kDuplicate, "duplicate_id"}, 1);
    }
  }
  return deltas;
}

// Step 3. Late and future events are kept aside with their partition's
// context, one row per `late` outcome. An id late_events holds already (or
// one repeated in this batch) is a duplicate, not late a second time.
void AggregatorHandler::keep_late(tables::BatchTables& tables, stream::Batch& batch,
                                  const Judged& judged) {
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
