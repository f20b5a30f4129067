#pragma once

// A partitioned table's partitions, as a sink keeps them: store_events'
// (migrations 0011 and 0012), or a declared kind's record table with its
// lines' table (migration 0018; pg/kind_tables.hpp). Made ahead of need,
// made on the spot for an older record whose span has none, and dropped
// past the retention, with the records kept beside them (late_events and
// the rest for store events, late_records for a kind) pruned alike. Every
// sink of a table does this; the functions it calls
// (millrace_partitions_ensure, _expire, _prune) serialise on an advisory
// lock per table, so several sinks at once are safe.
//
// Threads. A maintenance thread runs a round at start and every
// `maintain_every`; the commit thread calls ensure_for() before each batch's
// transaction; the loop thread reads cutoff_us(). One connection, behind a
// mutex.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "millrace/core/outcome.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/runtime/worker.hpp"
#include "millrace/stream/batch.hpp"
#include "store_probe.hpp"

namespace millrace::sink::detail {

struct StoreRules {
  // The table kept, as partitioned_tables names it: a kind's record table
  // brings its lines' table along.
  std::string table = "store_events";
  std::chrono::seconds ahead{2 * 86'400};  // partitions made this far past now
  std::chrono::seconds retention{0};       // 0: keep every partition
  std::chrono::milliseconds maintain_every{600'000};
};

// "2 days", "6 h", "90 min", "45 s": a span as the logs give it.
std::string describe_span(std::chrono::seconds span);

// How far back a round makes partitions: a day (the records of the last
// day mostly arrive late, not old), but never past the retention, or the
// drops would take what it made again at every round.
std::chrono::seconds ensure_back(const StoreRules& rules);

// The rows to store of `rows`: those whose time (`time_of(row)`, in
// microseconds) is older than `cutoff` (the retention) are re-counted
// `expired` in `batch`'s tallies instead, and left out.
template <typename RowT, typename TimeOf>
std::vector<const RowT*> unexpired(stream::Batch& batch, const std::vector<RowT>& rows,
                                   std::optional<std::int64_t> cutoff, TimeOf time_of) {
  // Their partitions are dropped, or about to be.
  std::vector<const RowT*> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    if (cutoff && time_of(row) < *cutoff) {
      batch.at(row.partition)
          .tally.move({core::Outcome::kPersisted, ""}, {core::Outcome::kExpired, "retention"}, 1);
    } else {
      out.push_back(&row);
    }
  }
  return out;
}

// Spans of event time that have a partition, sorted: [from, to) in
// microseconds since the epoch.
class Coverage {
 public:
  Coverage() = default;
  explicit Coverage(std::vector<std::pair<std::int64_t, std::int64_t>> spans);
  bool covers(std::int64_t ts_us) const;
  std::size_t size() const { return spans_.size(); }

 private:
  std::vector<std::pair<std::int64_t, std::int64_t>> spans_;
};

// The minutes (their first microsecond) that hold one of `ts_us` and no
// partition in `coverage`: one ensure call each, as a partition is at least
// a minute wide.
std::set<std::int64_t> missing_minutes(const Coverage& coverage,
                                       const std::vector<std::int64_t>& ts_us);

// What the sink's handler needs of the store's partitions: StorePartitions
// below, or the unit tests' partitions in memory.
class PartitionPort {
 public:
  virtual ~PartitionPort() = default;

  virtual const StoreRules& rules() const = 0;

  // Makes sure every one of these event times has a partition, making the
  // missing ones. Throws core::InfraError (retryable: the batch is tried
  // again).
  virtual void ensure_for(const std::vector<std::int64_t>& ts_us) = 0;

  // ensure_for() the times of `rows` that are not past the retention.
  template <typename RowT, typename TimeOf>
  void ensure_unexpired(const std::vector<RowT>& rows, TimeOf time_of) {
    const auto cutoff = cutoff_us();
    std::vector<std::int64_t> times;
    times.reserve(rows.size());
    for (const auto& row : rows) {
      if (!cutoff || time_of(row) >= *cutoff) times.push_back(time_of(row));
    }
    ensure_for(times);
  }

  // Events older than this are past the retention (counted `expired`, not
  // stored): PostgreSQL's now() at the last round, minus the retention.
  // nullopt without a retention, or before the first round.
  virtual std::optional<std::int64_t> cutoff_us() const = 0;

  // The consumer has a session on a migrated schema (its migrations run
  // before its first session): the periodic maintenance may begin. Before
  // this it would call functions a fresh schema does not have yet.
  virtual void schema_ready() {}
};

class StorePartitions final : public PartitionPort {
 public:
  StorePartitions(pg::PgOptions pg, StoreRules rules, metrics::Registry& metrics);
  ~StorePartitions() override;
  StorePartitions(const StorePartitions&) = delete;
  StorePartitions& operator=(const StorePartitions&) = delete;

  void start();
  void stop();
  const StoreRules& rules() const override { return rules_; }
  void ensure_for(const std::vector<std::int64_t>& ts_us) override;
  std::optional<std::int64_t> cutoff_us() const override;
  void schema_ready() override;

 private:
  void stopping();
  void maintain();
  pqxx::connection& connection();
  void load_coverage(pqxx::work& tx);

  pg::PgOptions pg_;
  StoreRules rules_;
  StoreProbe probe_;
  std::mutex mutex_;  // the connection and the coverage
  std::unique_ptr<pqxx::connection> conn_;
  Coverage coverage_;
  std::atomic<std::int64_t> cutoff_us_{0};
  std::atomic<bool> has_cutoff_{false};
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool ready_ = false;  // schema_ready() was called
  // Last: its thread uses the members above. A failed round is tried again
  // from 5 s, doubling to a minute; the stream loop reports the database's
  // state, this only retries (and a fatal failure stops the sink).
  runtime::Worker worker_{{.component = "sink.store",
                           .retry = {5000, 60000},
                           .observe = [this](const core::InfraError&) { probe_.failed(); },
                           .on_stop = [this] { stopping(); }}};
};

}  // namespace millrace::sink::detail
