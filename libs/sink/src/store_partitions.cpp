#include "store_partitions.hpp"

#include <algorithm>
#include <set>

#include "millrace/core/failure.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/runtime/log.hpp"

namespace millrace::sink::detail {

namespace {

constexpr std::string_view kComponent = "sink.store";
constexpr std::int64_t kMinuteUs = 60'000'000;
// A round that failed is tried again this soon, not a whole period later.

}  // namespace

std::string describe_span(std::chrono::seconds span) {
  const auto s = span.count();
  if (s % 86'400 == 0) return std::to_string(s / 86'400) + (s == 86'400 ? " day" : " days");
  if (s % 3'600 == 0) return std::to_string(s / 3'600) + " h";
  if (s % 60 == 0) return std::to_string(s / 60) + " min";
  return std::to_string(s) + " s";
}

std::chrono::seconds ensure_back(const StoreRules& rules) {
  const std::chrono::seconds day(86'400);
  return rules.retention.count() > 0 ? std::min(rules.retention, day) : day;
}

std::set<std::int64_t> missing_minutes(const Coverage& coverage,
                                       const std::vector<std::int64_t>& ts_us) {
  std::set<std::int64_t> minutes;
  for (const auto ts : ts_us) {
    if (!coverage.covers(ts)) minutes.insert(ts - ((ts % kMinuteUs) + kMinuteUs) % kMinuteUs);
  }
  return minutes;
}

Coverage::Coverage(std::vector<std::pair<std::int64_t, std::int64_t>> spans)
    : spans_(std::move(spans)) {
  std::sort(spans_.begin(), spans_.end());
}

bool Coverage::covers(std::int64_t ts_us) const {
  // The last span starting at or before ts.
  auto it = std::upper_bound(spans_.begin(), spans_.end(),
                             std::pair<std::int64_t, std::int64_t>{ts_us, INT64_MAX});
  if (it == spans_.begin()) return false;
  --it;
  return ts_us >= it->first && ts_us < it->second;
}

StorePartitions::StorePartitions(pg::PgOptions pg, StoreRules rules, metrics::Registry& metrics)
    : pg_(std::move(pg)), rules_(rules), probe_(metrics) {}

StorePartitions::~StorePartitions() {
  stop();
}

void StorePartitions::start() {
  worker_.spawn([this]() -> runtime::Worker::Next {
    {
      std::unique_lock lock(wake_mutex_);
      wake_.wait(lock, [this] { return ready_ || stopping_; });
      if (stopping_) return runtime::Worker::Next::done();
    }
    maintain();
    return runtime::Worker::Next::after(rules_.maintain_every);
  });
}

void StorePartitions::stop() {
  worker_.stop();
}

void StorePartitions::stopping() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
}

pqxx::connection& StorePartitions::connection() {
  if (!conn_ || !conn_->is_open()) {
    conn_ = pg::connect(pg_.url, pg_.schema, "millrace-sink-store", pg_.limits);
  }
  return *conn_;
}

void StorePartitions::load_coverage(pqxx::work& tx) {
  std::vector<std::pair<std::int64_t, std::int64_t>> spans;
  for (const auto& r :
       tx.exec_params("SELECT (extract(epoch FROM from_ts) * 1000000)::bigint, "
                      "(extract(epoch FROM to_ts) * 1000000)::bigint FROM store_partitions "
                      "WHERE table_name = $1",
                      rules_.table)) {
    spans.emplace_back(r[0].as<std::int64_t>(), r[1].as<std::int64_t>());
  }
  coverage_ = Coverage(std::move(spans));
  probe_.partitions(static_cast<std::int64_t>(coverage_.size()));
}

void StorePartitions::schema_ready() {
  {
    std::lock_guard lock(wake_mutex_);
    if (ready_) return;
    ready_ = true;
  }
  wake_.notify_all();
}

void StorePartitions::maintain() {
  std::lock_guard lock(mutex_);
  try {
    {
      pqxx::work tx(connection());
      const int made = tx.exec_params1(
                             "SELECT millrace_partitions_ensure($1, now() - make_interval(secs => "
                             "$2::bigint), now() + make_interval(secs => $3::bigint))",
                             rules_.table, ensure_back(rules_).count(), rules_.ahead.count())[0]
                           .as<int>();
      tx.commit();
      if (made > 0) {
        probe_.created(made);
        runtime::log_info(kComponent, "made " + std::to_string(made) + " partition(s) of " +
                                          rules_.table + " ahead of need (" +
                                          describe_span(rules_.ahead) + ")");
      }
    }
    if (rules_.retention.count() > 0) {
      pqxx::work tx(connection());
      // A drop waits for the inserts in flight, and new ones queue behind
      // it: it gives up after a second rather than stall them, and the
      // round is tried again 5 s later.
      tx.exec("SET LOCAL lock_timeout = '1s'");
      // Set before the drops commit: a batch must never aim a row at a
      // partition this transaction is dropping.
      cutoff_us_ = tx.exec_params1(
                         "SELECT (extract(epoch FROM now() - make_interval(secs => "
                         "$1::bigint)) * 1000000)::bigint",
                         rules_.retention.count())[0]
                       .as<std::int64_t>();
      has_cutoff_ = true;
      const auto rows = tx.exec_params(
          "SELECT partition_name, from_ts::text, to_ts::text, rows_estimate, dropped, "
          "coalesce(held_by, '') FROM millrace_partitions_expire($1, make_interval(secs => "
          "$2::bigint))",
          rules_.table, rules_.retention.count());
      tx.commit();
      std::int64_t held = 0;
      for (const auto& r : rows) {
        const std::string span = r[1].as<std::string>() + " to " + r[2].as<std::string>();
        if (r[4].as<bool>()) {
          probe_.dropped();
          runtime::log_info(kComponent, "dropped partition " + r[0].as<std::string>() + " (" +
                                            span + ", about " + r[3].as<std::string>() +
                                            " rows): past the retention of " +
                                            describe_span(rules_.retention));
        } else {
          ++held;
          runtime::log_warn(kComponent, "kept partition " + r[0].as<std::string>() + " (" + span +
                                            ") past the retention: archiver group " +
                                            r[5].as<std::string>() +
                                            " has not archived all of its records yet");
        }
      }
      probe_.held(held);
      pqxx::work prune(connection());
      for (const auto& r :
           prune.exec_params("SELECT table_name, rows_deleted FROM "
                             "millrace_partitions_prune($1, make_interval(secs => $2::bigint))",
                             rules_.table, rules_.retention.count())) {
        if (r[1].as<std::int64_t>() == 0) continue;
        runtime::log_info(kComponent, "deleted " + r[1].as<std::string>() + " row(s) of " +
                                          r[0].as<std::string>() + " past the retention of " +
                                          describe_span(rules_.retention));
      }
      prune.commit();
    }
    pqxx::work tx(connection());
    load_coverage(tx);
    tx.commit();
  } catch (const core::InfraError&) {
    conn_.reset();
    throw;
  } catch (const std::exception&) {
    conn_.reset();
    pg::rethrow_classified(rules_.table + " partition maintenance");
  }
}

void StorePartitions::ensure_for(const std::vector<std::int64_t>& ts_us) {
  if (ts_us.empty()) return;
  // Before the first round has set the cutoff, rows could be aimed at
  // partitions past the retention: that round goes first.
  if (rules_.retention.count() > 0 && !has_cutoff_) maintain();
  std::lock_guard lock(mutex_);
  // Rechecked after each call: most batches make none.
  const auto minutes = missing_minutes(coverage_, ts_us);
  if (minutes.empty()) return;
  try {
    pqxx::work tx(connection());
    int made = 0;
    for (const auto minute : minutes) {
      if (coverage_.covers(minute)) continue;
      made += tx.exec_params1(
                    "SELECT millrace_partitions_ensure($1, to_timestamp($2::float8 / 1e6), "
                    "to_timestamp($2::float8 / 1e6))",
                    rules_.table, minute)[0]
                  .as<int>();
      load_coverage(tx);
    }
    tx.commit();
    if (made > 0) {
      probe_.created(made);
      runtime::log_info(kComponent, "made " + std::to_string(made) + " partition(s) of " +
                                        rules_.table +
                                        " for records older or later than the partitions made "
                                        "ahead");
    }
  } catch (const core::InfraError&) {
    conn_.reset();
    coverage_ = Coverage();  // what it loaded may have been rolled back
    throw;
  } catch (const std::exception&) {
    conn_.reset();
    coverage_ = Coverage();
    pg::rethrow_classified("making a partition of " + rules_.table);
  }
}

std::optional<std::int64_t> StorePartitions::cutoff_us() const {
  if (!has_cutoff_) return std::nullopt;
  return cutoff_us_.load();
}

}  // namespace millrace::sink::detail
