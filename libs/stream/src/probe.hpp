#pragma once

// The stream consumer's probe (Redpanda's word): every metric the loop
// exports, and the lag thread that keeps end offsets fresh for them. The loop
// tells the probe what happened; the probe never calls back into the loop,
// except through take_stalled(), which the loop polls.
//
// Counters move only when a batch commits, so the metrics tell the same story
// as record_outcomes: consumed equals the sum of outcomes per partition at
// every scrape.
//
// Threads: the loop thread calls everything but the samplers; the metrics
// server's thread calls the samplers; the lag thread calls refresh_lag().
// All shared state is under mutex_.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "millrace/core/failure.hpp"
#include "millrace/kafka/admin.hpp"
#include "millrace/kafka/types.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/worker.hpp"
#include "millrace/stream/batch.hpp"

namespace millrace::stream {

class ConsumerProbe {
 public:
  using Clock = std::chrono::steady_clock;

  ConsumerProbe(metrics::Registry& r, std::string topic, std::string component,
                std::chrono::seconds stall_timeout);
  ~ConsumerProbe();
  ConsumerProbe(const ConsumerProbe&) = delete;
  ConsumerProbe& operator=(const ConsumerProbe&) = delete;

  // A batch committed in `seconds`: its counts, outcomes and freshness.
  void committed(const Batch& batch, double seconds);
  // The committed position of an owned partition (nullopt: nothing stored
  // yet, so everything from the log start counts as lag).
  void set_position(std::int32_t partition, std::optional<std::int64_t> next);
  // How far partitions were read (next offsets), ahead of what is committed:
  // reading counts as progress, so a batch that stays open for minutes (the
  // archiver's) is no stall while its records come in, nor while it waits
  // for more at the log end. forget_reads() when reading restarts from the
  // stored offsets.
  void set_read(const std::map<std::int32_t, std::int64_t>& next);
  // Fetching reached the partition's end at `next`: read up to there,
  // although the last record handed out may be before it (a transaction
  // marker after it is no record). Forgotten with the reads.
  void set_end(std::int32_t partition, std::int64_t next);
  // Every record the loop was handed is committed now: each partition's
  // last end (set_end) is then committed too, for the lag. Without it an
  // idle transactional topic would show its last marker as lag forever.
  void settled();
  void forget_reads(const std::vector<std::int32_t>& partitions);
  // Partitions whose stall passed the timeout since the last call (each
  // once per stall), for the loop to act on.
  std::set<std::int32_t> take_stalled();
  void halted(std::int32_t partition, std::string_view reason, const std::string& text);
  // The partitions halted now, with the message that said why (for
  // /readyz). Any thread.
  std::map<std::int32_t, std::string> halted_partitions() const;

  // Lag = end offset - committed position, refreshed on a thread of its own:
  // broker queries must not stall the consumer loop, and a paused partition
  // (during an outage, exactly when lag matters) fetches no new watermarks.
  void start_lag(const std::string& brokers, const kafka::Properties& extra);
  // Returns once the lag thread ended; it stops between two queries.
  void stop_lag();

  void assigned(const std::vector<std::int32_t>& partitions, bool assign);
  void owned(std::size_t n);
  // Offsets recorded as lost: an outcome like the others, shown at once.
  void lost(std::int32_t partition, std::uint64_t n);
  void fenced();
  void pg_error(core::FailureClass c);

 private:
  void refresh_lag();
  bool lag_stopping() const { return lag_.stopping(); }
  // Behind and not moving since when (nullopt: caught up or unknown). Call
  // with mutex_ held.
  std::optional<Clock::time_point> stalled_since(std::int32_t p, std::optional<std::int64_t> next);
  void log_stalls();

  std::vector<metrics::Sample> stall_samples();
  std::vector<metrics::Sample> halted_samples();
  std::vector<metrics::Sample> lag_samples();
  std::vector<metrics::Sample> freshness_samples();
  std::vector<metrics::Sample> since_commit_samples() const;

  metrics::Counter& consumed(std::int32_t partition);
  metrics::Counter& outcome(std::int32_t partition, std::string_view outcome,
                            std::string_view reason);

  metrics::Registry& registry_;
  std::string topic_;
  std::string component_;
  std::chrono::seconds stall_timeout_;
  metrics::Histogram batch_records_;
  metrics::Histogram commit_seconds_;
  metrics::Counter fenced_;
  metrics::Gauge assigned_;
  std::map<std::string, metrics::Counter> rebalances_;
  std::map<std::string, metrics::Counter> pg_errors_;
  Clock::time_point started_;
  std::atomic<Clock::rep> last_commit_ns_{0};
  mutable std::mutex mutex_;
  std::map<std::int32_t, metrics::Counter> consumed_;
  std::map<std::tuple<std::int32_t, std::string, std::string>, metrics::Counter> outcomes_;
  std::map<std::int32_t, std::pair<std::int64_t, std::int64_t>> watermarks_;
  std::map<std::int32_t, double> newest_ms_;
  std::map<std::int32_t, std::optional<std::int64_t>> positions_;
  std::map<std::int32_t, std::int64_t> reads_;  // read ahead of the position
  std::map<std::int32_t, std::int64_t> ends_;   // fetched to the end, up to
  // Committed through, by settled(): what the lag counts from when it is
  // past the committed position (only transaction markers lie between).
  std::map<std::int32_t, std::int64_t> settled_;
  std::map<std::int32_t, Clock::time_point> progress_;  // when the position last moved
  std::set<std::int32_t> stall_logged_;
  std::set<std::int32_t> newly_stalled_;
  std::atomic<bool> any_stalled_{false};             // newly_stalled_ is not empty
  std::map<std::int32_t, std::string> halted_;       // partition -> reason
  std::map<std::int32_t, std::string> halted_text_;  // partition -> message
  std::unique_ptr<kafka::OffsetsClient> offsets_;
  // Refreshes the lag; stops between two queries.
  runtime::Worker lag_{{.component = "stream"}};
};

}  // namespace millrace::stream
