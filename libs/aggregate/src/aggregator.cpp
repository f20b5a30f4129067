#include "millrace/aggregate/aggregator.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "batch.hpp"
#include "millrace/core/validation.hpp"
#include "millrace/core/window.hpp"
#include "millrace/pg/copy.hpp"
#include "tables.hpp"

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
            "late_events",
            0, 10LL * 365 * 86400);
}

void validate(AggregatorConfig& c) {
  stream::validate(c.stream);
}

namespace {

// Pruning the dedup table is cheap but not free; once every this many batches.
constexpr std::uint64_t kPruneEvery = 50;

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
      batch.at(it->partition)
          .tally.move({core::Outcome::kPersisted, ""}, {core::Outcome::kRejected, "db_refused"}, 1);
      agg.refused.push_back({std::move(*it), r.sqlstate, r.message});
      agg.pending.erase(it);
    }
  }

  // One batch, in this order, inside its transaction: refused records first
  // (from an earlier attempt), then
  //   1. judge lateness against the newest event time per partition;
  //   2. fold the on-time events whose ids were never seen;
  //   3. keep late and future events aside in late_events;
  //   4. add the folded deltas to the aggregates, and move the partitions'
  //      newest event times on;
  //   5. now and then, forget ids beyond the dedup horizon.
  void write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) override {
    const std::string& topic = config_.stream.kafka.topic;
    tables::insert_refused(tx, config_.stream.group, topic, of(state).refused);
    const auto& pending = of(state).pending;
    if (pending.empty()) return;
    auto judged = judge_lateness(tx, topic, pending);
    const auto deltas = fold_new(tx, topic, batch, judged.on_time);
    keep_late(tx, topic, batch, judged);
    tables::apply_deltas(tx, deltas);
    std::set<std::int32_t> partitions;
    for (const auto& [partition, progress] : batch.partitions()) partitions.insert(partition);
    tables::advance_partition_max(tx, topic, judged.max_ts, partitions);
    if (++batches_ % kPruneEvery == 0) tables::prune_seen_ids(tx, topic, config_.max_lateness_s);
  }

 private:
  struct Judged {
    tables::PartitionMax max_ts;  // raised by this batch's on-time events
    std::vector<const Pending*> on_time;
    tables::Late late;
  };

  // Step 1. In offset order per partition, against the newest event time
  // PostgreSQL holds for the partition, so a replay decides alike.
  Judged judge_lateness(pqxx::work& tx, const std::string& topic,
                        const std::vector<Pending>& pending) const {
    Judged out;
    out.max_ts = tables::read_partition_max(tx, topic);
    // "Future" is judged against each record's Kafka timestamp, the same for
    // every member and every replay; the database's clock (one for the whole
    // group) stands in for a record without one. Never this host's clock.
    std::optional<core::TimestampUs> db_now;
    const auto reference = [&](const Pending& p) {
      if (p.record_timestamp_ms < 0 && !db_now) db_now = tables::database_now(tx);
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
  core::Deltas fold_new(pqxx::work& tx, const std::string& topic, stream::Batch& batch,
                        const std::vector<const Pending*>& on_time) {
    enum class Role { kFirst, kReused, kRepeat };
    std::vector<Role> roles;
    roles.reserve(on_time.size());
    std::vector<tables::SeenId> ids;
    ids.reserve(on_time.size());
    {
      // The time of each id's first event in the batch.
      std::unordered_map<std::string_view, core::TimestampUs> first;
      for (const auto* p : on_time) {
        const auto [it, added] = first.try_emplace(p->event.id, p->event.ts);
        if (added) {
          roles.push_back(Role::kFirst);
          // Only pruning reads the hour. Few distinct values keep its index
          // small: new entries join a few hot leaf pages instead of
          // splitting pages at random.
          ids.push_back({&p->event.id, core::hour_start(p->event.ts), p->event.ts});
        } else {
          roles.push_back(it->second == p->event.ts ? Role::kRepeat : Role::kReused);
        }
      }
    }
    tables::HeldIds held;
    if (!ids.empty()) {
      // In id order the primary key's leaf pages are walked in order instead
      // of at random. Ids are lower-case, so text order is uuid order.
      std::sort(ids.begin(), ids.end(),
                [](const tables::SeenId& a, const tables::SeenId& b) { return *a.id < *b.id; });
      seen_.write(
          tx, "direct_seen_ids",
          [&](pqxx::transaction_base& t) { tables::copy_seen_ids(t, topic, ids); },
          [&] {
            held = tables::insert_seen_ids(tx, topic, ids);
            return held.size();
          });
    }
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
    auto new_reused = tables::insert_reused_ids(tx, topic, reused);
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
  static void keep_late(pqxx::work& tx, const std::string& topic, stream::Batch& batch,
                        const Judged& judged) {
    if (judged.late.empty()) return;
    const auto stored = tables::insert_late(tx, topic, judged.late, judged.max_ts);
    for (const auto& [p, verdict] : judged.late) {
      const bool kept = stored.contains({p->partition, p->offset});
      batch.at(p->partition)
          .tally.move({core::Outcome::kPersisted, ""},
                      kept ? stream::OutcomeKey{core::Outcome::kLate, core::to_string(verdict)}
                           : stream::OutcomeKey{core::Outcome::kDuplicate, "duplicate_id"},
                      1);
    }
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

Aggregator::~Aggregator() {
  stop();
}
void Aggregator::start() {
  consumer_->start();
}
void Aggregator::stop() {
  consumer_->stop();
}
bool Aggregator::wait(milliseconds timeout) {
  return consumer_->wait(timeout);
}
void Aggregator::rethrow_failure() {
  consumer_->rethrow_failure();
}
stream::StreamStats Aggregator::stats() const {
  return consumer_->stats();
}

}  // namespace millrace::aggregate
