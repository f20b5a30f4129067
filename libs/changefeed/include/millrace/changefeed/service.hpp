#pragma once

// millrace-changefeed: every committed change of the published tables, from
// PostgreSQL's logical replication (pgoutput) to a Kafka topic, exactly once
// for read_committed consumers. The loop is Feed (feed.hpp); this is its
// configuration and the component that connects, retries and reports.

#include <cstdint>
#include <memory>
#include <string>

#include "millrace/changefeed/choices.hpp"
#include "millrace/changefeed/debezium.hpp"
#include "millrace/changefeed/settings.hpp"
#include "millrace/core/options.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/runtime/registry.hpp"
#include "millrace/runtime/service.hpp"

namespace millrace::changefeed {

// The change feed's own settings are declared in
// libs/changefeed/src/settings.cpp (their values in ChangefeedSettings): the
// transaction's id, limits and timeout, the checkpoint group, the status
// interval, the snapshot, the backfills' polling and chunks, what a lost
// slot does, and the records' format with the Debezium format's options.
struct ChangefeedConfig : ChangefeedSettings {
  kafka::KafkaClientOptions kafka =
      kafka::client_options("millrace-changefeed", "millrace.changes");
  // The replication role: LOGIN REPLICATION, nothing more (see docs/configuration.md).
  pg::PgOptions pg = [] {
    pg::PgOptions p;
    p.url = "postgresql://millrace_changefeed:millrace@127.0.0.1:5432/millrace";
    return p;
  }();
  std::string slot = "millrace_changefeed";
  std::string publication = "millrace_changes";
  // The signal table of backfills, in --pg-schema (docs/backfills.md).
  std::string backfill_table = "changefeed_backfills";
  core::RetryBackoff retry;
  std::string metrics_addr = runtime::default_metrics_addr("changefeed");
};

void register_options(core::OptionSet& options, ChangefeedConfig& config);
// The names of a change feed, declared once for the feed and for the
// commands that address it (`millrace changefeed ...`, `webhooks add
// --backfill`): --slot, --publication and --backfill-table, each left out
// when its target is null.
void add_feed_names(core::OptionSet& options, std::string* slot, std::string* publication,
                    std::string* backfill_table);
// Fills the defaults that derive from others; throws core::UsageError.
void validate(ChangefeedConfig& config);

// The service: start() runs the feed on its own thread, reconnecting with
// backoff after a retryable failure (PostgreSQL or Kafka away); a fatal one
// (fenced, a missing publication, a broken stream) ends it. stop()
// publishes what is pending, confirms it, and returns. `metrics` must
// outlive the service.
std::unique_ptr<runtime::Service> make_changefeed(ChangefeedConfig config,
                                                  metrics::Registry& metrics);

}  // namespace millrace::changefeed
