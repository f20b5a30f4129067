#include "probe.hpp"

#include <algorithm>

#include "millrace/runtime/log.hpp"
#include "probe_metrics.hpp"

namespace millrace::stream {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds kLagRefresh{1000};
constexpr milliseconds kWatermarkTimeout{2000};

std::string partition_label(std::int32_t p) {
  return std::to_string(p);
}

}  // namespace

ConsumerProbe::ConsumerProbe(metrics::Registry& r, std::string topic, std::string component,
                             std::chrono::seconds stall_timeout)
    : registry_(r),
      topic_(std::move(topic)),
      component_(std::move(component)),
      stall_timeout_(stall_timeout),
      batch_records_(kBatchRecords.histogram(r)),
      commit_seconds_(kBatchCommitSeconds.histogram(r)),
      fenced_(kCommitsFenced.counter(r)),
      assigned_(kAssignedPartitions.gauge(r)),
      started_(Clock::now()) {
  for (const char* kind : {"assign", "revoke"}) {
    rebalances_.emplace(kind, kRebalances.counter(r, {{"kind", kind}}));
  }
  for (const char* cls : {"retryable", "poison", "fatal"}) {
    pg_errors_.emplace(cls, kPostgresErrors.counter(r, {{"class", cls}}));
  }
  kConsumerLag.computed_gauge(r, [this] { return lag_samples(); });
  kPartitionStalled.computed_gauge(r, [this] { return stall_samples(); });
  kPartitionHalted.computed_gauge(r, [this] { return halted_samples(); });
  kConsumerFreshness.computed_gauge(r, [this] { return freshness_samples(); });
  kSinceLastCommit.computed_gauge(r, [this] { return since_commit_samples(); });
}

ConsumerProbe::~ConsumerProbe() {
  stop_lag();
}

void ConsumerProbe::committed(const Batch& batch, double seconds) {
  batch_records_.observe(static_cast<double>(batch.consumed()));
  commit_seconds_.observe(seconds);
  last_commit_ns_ = Clock::now().time_since_epoch().count();
  std::lock_guard lock(mutex_);
  for (const auto& [partition, progress] : batch.partitions()) {
    consumed(partition).inc(static_cast<double>(progress.consumed));
    for (const auto& [key, n] : progress.tally.counts()) {
      outcome(partition, core::outcome_code(key.first), key.second).inc(static_cast<double>(n));
    }
    if (progress.max_timestamp_ms >= 0) {
      auto& newest = newest_ms_[partition];
      newest = std::max(newest, static_cast<double>(progress.max_timestamp_ms));
    }
  }
}

void ConsumerProbe::set_position(std::int32_t partition, std::optional<std::int64_t> next) {
  std::lock_guard lock(mutex_);
  auto [it, added] = positions_.try_emplace(partition, next);
  if (added || it->second != next) progress_[partition] = Clock::now();
  it->second = next;
}

void ConsumerProbe::set_read(const std::map<std::int32_t, std::int64_t>& next) {
  std::lock_guard lock(mutex_);
  for (const auto& [p, offset] : next) {
    if (!positions_.contains(p)) continue;  // revoked meanwhile
    auto [it, added] = reads_.try_emplace(p, offset);
    if (added || it->second != offset) progress_[p] = Clock::now();
    it->second = offset;
  }
}

void ConsumerProbe::set_end(std::int32_t partition, std::int64_t next) {
  std::lock_guard lock(mutex_);
  if (!positions_.contains(partition)) return;  // revoked meanwhile
  auto [it, added] = ends_.try_emplace(partition, next);
  if (added || it->second != next) progress_[partition] = Clock::now();
  it->second = next;
}

void ConsumerProbe::settled() {
  std::lock_guard lock(mutex_);
  for (const auto& [p, end] : ends_) {
    auto [it, added] = settled_.try_emplace(p, end);
    if (!added) it->second = std::max(it->second, end);
  }
}

void ConsumerProbe::forget_reads(const std::vector<std::int32_t>& partitions) {
  std::lock_guard lock(mutex_);
  for (const auto p : partitions) {
    reads_.erase(p);
    ends_.erase(p);
    settled_.erase(p);
  }
}

std::set<std::int32_t> ConsumerProbe::take_stalled() {
  // Asked once per poll round: nearly always nothing, known without the lock.
  if (!any_stalled_.load(std::memory_order_acquire)) return {};
  std::lock_guard lock(mutex_);
  any_stalled_.store(false, std::memory_order_relaxed);
  return std::exchange(newly_stalled_, {});
}

void ConsumerProbe::halted(std::int32_t partition, std::string_view reason,
                           const std::string& text) {
  std::lock_guard lock(mutex_);
  halted_[partition] = std::string(reason);
  halted_text_[partition] = text;
}

std::map<std::int32_t, std::string> ConsumerProbe::halted_partitions() const {
  std::lock_guard lock(mutex_);
  return halted_text_;
}

void ConsumerProbe::start_lag(const std::string& brokers, const kafka::Properties& extra) {
  offsets_ = std::make_unique<kafka::OffsetsClient>(brokers, extra);
  lag_.spawn([this] {
    refresh_lag();
    return runtime::Worker::Next::after(kLagRefresh);
  });
}

void ConsumerProbe::stop_lag() {
  lag_.stop();
}

void ConsumerProbe::assigned(const std::vector<std::int32_t>& partitions, bool assign) {
  rebalances_.at(assign ? "assign" : "revoke").inc();
  std::lock_guard lock(mutex_);
  for (const auto p : partitions) {
    if (!assign) {
      watermarks_.erase(p);
      newest_ms_.erase(p);
      positions_.erase(p);
      reads_.erase(p);
      ends_.erase(p);
      settled_.erase(p);
      progress_.erase(p);
      stall_logged_.erase(p);
      halted_.erase(p);
      halted_text_.erase(p);
    }
    // Make the accounting series exist from the start, at 0.
    if (assign) consumed(p);
  }
}

void ConsumerProbe::owned(std::size_t n) {
  assigned_.set(static_cast<double>(n));
}

void ConsumerProbe::lost(std::int32_t partition, std::uint64_t n) {
  std::lock_guard lock(mutex_);
  outcome(partition, core::outcome_code(core::Outcome::kLost), "retention")
      .inc(static_cast<double>(n));
}

void ConsumerProbe::fenced() {
  fenced_.inc();
}

void ConsumerProbe::pg_error(core::FailureClass c) {
  pg_errors_.at(std::string(core::to_string(c))).inc();
}

// Only the end offsets come from the refresh thread; the position is the
// committed one at scrape time, so a commit shows at once.
void ConsumerProbe::refresh_lag() {
  std::vector<std::int32_t> partitions;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [p, next] : positions_) partitions.push_back(p);
  }
  for (const auto p : partitions) {
    if (lag_stopping()) return;  // shutdown must not wait on the rest
    try {
      const auto [low, high] = offsets_->watermarks(topic_, p, kWatermarkTimeout);
      std::lock_guard lock(mutex_);
      // Only if still owned: a revoke may have come meanwhile.
      if (positions_.contains(p)) watermarks_[p] = {low, high};
    } catch (const core::InfraError&) {
      // Broker unreachable: the last value stays; librdkafka reconnects.
    }
  }
  log_stalls();
}

std::optional<ConsumerProbe::Clock::time_point> ConsumerProbe::stalled_since(
    std::int32_t p, std::optional<std::int64_t> next) {
  const auto w = watermarks_.find(p);
  if (w == watermarks_.end()) return std::nullopt;
  const auto [low, high] = w->second;
  std::int64_t at = next.value_or(low);
  if (const auto r = reads_.find(p); r != reads_.end()) at = std::max(at, r->second);
  if (const auto e = ends_.find(p); e != ends_.end()) at = std::max(at, e->second);
  if (high - at <= 0) {
    progress_[p] = Clock::now();  // caught up counts as progress
    return std::nullopt;
  }
  const auto it = progress_.find(p);
  return it == progress_.end() ? std::nullopt : std::optional(it->second);
}

// A stall is logged once when it passes the timeout, and once when it ends:
// a stuck partition must never be silent, and a slow one must not flood.
void ConsumerProbe::log_stalls() {
  std::vector<std::string> lines;
  {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    for (const auto& [p, next] : positions_) {
      const auto since = stalled_since(p, next);
      const bool stalled = since && now - *since >= stall_timeout_;
      const bool logged = stall_logged_.contains(p);
      if (stalled && !logged) {
        stall_logged_.insert(p);
        newly_stalled_.insert(p);
        any_stalled_.store(true, std::memory_order_release);
        const auto [low, high] = watermarks_.at(p);
        lines.push_back(
            "partition " + topic_ + "[" + std::to_string(p) + "] is stalled: " +
            std::to_string(high - next.value_or(low)) + " record(s) behind and no progress for " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - *since).count()) +
            " s" + (halted_.contains(p) ? " (halted: " + halted_.at(p) + ")" : ""));
      } else if (!stalled && logged) {
        stall_logged_.erase(p);
        lines.push_back("partition " + topic_ + "[" + std::to_string(p) + "] moves again");
      }
    }
  }
  for (const auto& line : lines) runtime::log_warn(component_, line);
}

std::vector<metrics::Sample> ConsumerProbe::stall_samples() {
  std::lock_guard lock(mutex_);
  std::vector<metrics::Sample> out;
  const auto now = Clock::now();
  for (const auto& [p, next] : positions_) {
    if (!watermarks_.contains(p)) continue;
    const auto since = stalled_since(p, next);
    out.push_back({{{"topic", topic_}, {"partition", partition_label(p)}},
                   since ? std::chrono::duration<double>(now - *since).count() : 0.0});
  }
  return out;
}

std::vector<metrics::Sample> ConsumerProbe::halted_samples() {
  std::lock_guard lock(mutex_);
  std::vector<metrics::Sample> out;
  for (const auto& [p, reason] : halted_) {
    out.push_back(
        {{{"topic", topic_}, {"partition", partition_label(p)}, {"reason", reason}}, 1.0});
  }
  return out;
}

std::vector<metrics::Sample> ConsumerProbe::lag_samples() {
  std::lock_guard lock(mutex_);
  std::vector<metrics::Sample> out;
  for (const auto& [p, next] : positions_) {
    const auto it = watermarks_.find(p);
    if (it == watermarks_.end()) continue;  // not known yet
    const auto [low, high] = it->second;
    std::int64_t at = next.value_or(low);
    if (const auto s = settled_.find(p); s != settled_.end()) at = std::max(at, s->second);
    out.push_back({{{"topic", topic_}, {"partition", partition_label(p)}},
                   static_cast<double>(std::max<std::int64_t>(0, high - at))});
  }
  return out;
}

std::vector<metrics::Sample> ConsumerProbe::freshness_samples() {
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::lock_guard lock(mutex_);
  std::vector<metrics::Sample> out;
  for (const auto& [p, ms] : newest_ms_) {
    out.push_back({{{"topic", topic_}, {"partition", partition_label(p)}}, now - ms / 1000});
  }
  return out;
}

std::vector<metrics::Sample> ConsumerProbe::since_commit_samples() const {
  const auto last = last_commit_ns_.load();
  const auto since =
      last == 0 ? Clock::now() - started_ : Clock::now() - Clock::time_point(Clock::duration(last));
  return {{{}, std::chrono::duration<double>(since).count()}};
}

metrics::Counter& ConsumerProbe::consumed(std::int32_t partition) {
  auto it = consumed_.find(partition);
  if (it == consumed_.end()) {
    it =
        consumed_
            .emplace(partition,
                     kRecordsConsumed.counter(
                         registry_, {{"topic", topic_}, {"partition", partition_label(partition)}}))
            .first;
  }
  return it->second;
}

metrics::Counter& ConsumerProbe::outcome(std::int32_t partition, std::string_view outcome,
                                         std::string_view reason) {
  const auto key = std::make_tuple(partition, std::string(outcome), std::string(reason));
  auto it = outcomes_.find(key);
  if (it == outcomes_.end()) {
    it = outcomes_
             .emplace(key,
                      kRecordsOutcome.counter(registry_, {{"topic", topic_},
                                                          {"partition", partition_label(partition)},
                                                          {"outcome", std::string(outcome)},
                                                          {"reason", std::string(reason)}}))
             .first;
  }
  return it->second;
}

}  // namespace millrace::stream
