#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "millrace/core/options.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/kafka/types.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/runtime/reloaded.hpp"
#include "millrace/stream/handler.hpp"

namespace millrace::stream {

// When a batch is sealed: after `size` consumed records or `ms`
// milliseconds after its first, whichever comes first.
struct BatchLimits {
  std::int64_t size = 5000;
  std::int64_t ms = 200;
};

enum class ErrorsTolerance : std::uint8_t { kAll, kNone };
inline constexpr core::EnumNames<ErrorsTolerance, 2> kErrorsToleranceNames(
    {{ErrorsTolerance::kAll, "all"}, {ErrorsTolerance::kNone, "none"}});
enum class OffsetGap : std::uint8_t { kFail, kSkip };
inline constexpr core::EnumNames<OffsetGap, 2> kOffsetGapNames({{OffsetGap::kFail, "fail"},
                                                                {OffsetGap::kSkip, "skip"}});

// Settings every transactional consumer service shares. Member initialisers
// are the defaults; register_options() holds the flags, variables and help.
struct StreamConfig {
  kafka::KafkaClientOptions kafka;  // each service sets kafka.client_id's and topic's defaults
  // --topic's variable and help, set by each service with the topic's
  // default: the store event's (from its declaration), or the change
  // feed's (the webhooks').
  kafka::TopicOption topic_option;
  pg::PgOptions pg;
  // "sink", "aggregator" or "webhooks": names the service's group variable
  // (MILLRACE_SINK_GROUP, ...) and is recorded with the group in
  // PostgreSQL, so another service cannot join it.
  std::string service = "sink";
  std::string group;  // each service sets its default
  std::int64_t batch_size = 5000;
  std::int64_t batch_ms = 200;
  // Seal a batch as soon as a poll finds nothing more, when no commit is in
  // flight ahead of it, instead of waiting out batch_ms (each service sets
  // its default).
  bool close_when_idle = false;
  // batch_size and batch_ms as SIGHUP last set them (register_options marks
  // both reloadable); the consumer reads it as each batch begins.
  runtime::Reloaded<BatchLimits> reloaded_limits;
  core::RetryBackoff retry;
  std::int64_t session_timeout_ms = 10000;
  bool migrate = true;
  // all: a record PostgreSQL refuses is set aside and the rest commits;
  // none: the first one stops the service.
  ErrorsTolerance errors_tolerance = ErrorsTolerance::kAll;
  // A stored offset below the log start (retention passed it): fail stops
  // the partition; skip records the missing range as lost and goes on.
  OffsetGap on_offset_gap = OffsetGap::kFail;
  // A partition assigned, behind, and without progress this long is stalled.
  std::int64_t stall_timeout_s = 60;
  // A stored offset past the log end a partition's leader reports is asked
  // again this long, every second, before the partition halts
  // (offset_ahead): a leader cut off from its peers reports its own
  // shorter log until it learns it lost the partition. Not a setting.
  std::chrono::milliseconds ahead_confirm{30'000};
  std::string metrics_addr;  // each service sets its default; empty: not served
};

// The defaults of the service `service` of services/registry.json: its
// kind, its group and client id (millrace-<service>) and its metrics address.
StreamConfig service_defaults(std::string_view service);
// And the topic it reads, `topic` by default, under `topic_option`.
StreamConfig service_defaults(std::string_view service, std::string topic,
                              kafka::TopicOption topic_option);

void register_options(core::OptionSet& options, StreamConfig& config);
// --group under the variable of `service`'s group (MILLRACE_SINK_GROUP):
// the service's own, and a command's that reads its offsets.
void add_group_option(core::OptionSet& options, std::string_view service, std::string* group);
// Throws core::UsageError naming the setting.
void validate(StreamConfig& config);

// Lifetime totals of one process (the SQL tables hold the lifetime totals of
// the group).
struct StreamStats {
  std::uint64_t consumed = 0;
  std::uint64_t batches = 0;
  std::uint64_t fenced = 0;     // commits refused because another member moved an offset
  std::uint64_t db_errors = 0;  // retryable failures that replayed a batch
  std::uint64_t rebalances = 0;
  std::uint64_t refused = 0;  // records PostgreSQL refused, set aside
  std::uint64_t lost = 0;     // offsets retention deleted before they were read (skip policy)
  std::uint64_t rearms = 0;   // stalled partitions re-armed from their stored offsets
  std::map<std::string, std::uint64_t> outcomes;  // by outcome
};

// A consumer group member that commits each batch, its offsets and its
// accounting in one PostgreSQL transaction, so that whatever happens (crash,
// rebalance, database outage, zombie member) every record is processed
// exactly once. See docs/exactly-once.md.
namespace detail {
struct Ports;  // libs/stream/src/ports.hpp
}  // namespace detail

class TransactionalConsumer {
 public:
  // `component` names the service in logs and in PostgreSQL's
  // application_name. The consumer registers its metrics in `metrics`
  // (docs/operations.md lists them).
  TransactionalConsumer(StreamConfig config, Handler& handler, std::string component,
                        metrics::Registry& metrics);
  // The same, reaching Kafka and PostgreSQL through `ports` instead: for the
  // loop's unit tests, which pass fakes (libs/stream/tests/loop_test.cpp).
  TransactionalConsumer(StreamConfig config, Handler& handler, std::string component,
                        metrics::Registry& metrics, detail::Ports&& ports);
  ~TransactionalConsumer();
  TransactionalConsumer(const TransactionalConsumer&) = delete;
  TransactionalConsumer& operator=(const TransactionalConsumer&) = delete;

  // Creates the Kafka consumer (bad properties throw here) and starts the
  // consuming thread. PostgreSQL is reached from that thread, with retries,
  // so a database that comes up later is waited for.
  void start();
  // Finishes the current batch, commits it, leaves the group and joins.
  // Idempotent.
  void stop();
  // True once the consuming thread has ended (after stop() or a fatal error).
  bool wait(std::chrono::milliseconds timeout);
  // Rethrows the fatal error that ended the thread, if any.
  void rethrow_failure();

  StreamStats stats() const;
  // The partitions this member stopped reading (a gap in the log under
  // --on-offset-gap=fail), with why. Any thread.
  std::map<std::int32_t, std::string> halted() const;

 private:
  class Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace millrace::stream
