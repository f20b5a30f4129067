#pragma once

// millrace-changefeed: every committed change of the published tables, from
// PostgreSQL's logical replication (pgoutput) to a Kafka topic, exactly once
// for read_committed consumers. The loop is Feed (feed.hpp); this is its
// configuration and the component that connects, retries and reports.

#include <cstdint>
#include <memory>
#include <string>

#include "millrace/changefeed/debezium.hpp"
#include "millrace/core/options.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/runtime/registry.hpp"
#include "millrace/runtime/service.hpp"

namespace millrace::changefeed {

// The settings' choices (ChangefeedConfig says what each means).
enum class Snapshot : std::uint8_t { kInitial, kNever };
inline constexpr core::EnumNames<Snapshot, 2> kSnapshotNames({{Snapshot::kInitial, "initial"},
                                                              {Snapshot::kNever, "never"}});
enum class SlotLost : std::uint8_t { kStop, kBackfill };
inline constexpr core::EnumNames<SlotLost, 2> kSlotLostNames({{SlotLost::kStop, "stop"},
                                                              {SlotLost::kBackfill, "backfill"}});
enum class Format : std::uint8_t { kMillrace, kDebezium };
inline constexpr core::EnumNames<Format, 2> kFormatNames({{Format::kMillrace, "millrace"},
                                                          {Format::kDebezium, "debezium"}});

struct ChangefeedConfig {
  kafka::KafkaClientOptions kafka = [] {
    auto k = kafka::client_options("millrace-changefeed");
    k.topic = "millrace.changes";
    return k;
  }();
  // The replication role: LOGIN REPLICATION, nothing more (see docs/configuration.md).
  pg::PgOptions pg = [] {
    pg::PgOptions p;
    p.url = "postgresql://millrace_changefeed:millrace@127.0.0.1:5432/millrace";
    return p;
  }();
  std::string slot = "millrace_changefeed";
  std::string publication = "millrace_changes";
  // Default: millrace-changefeed.<slot>. Two feeds with the same id fence
  // each other; the slot admits one reader at a time anyway.
  std::string transactional_id;
  // The consumer group whose committed offset carries the checkpoint.
  // Default: millrace-changefeed.<slot>.checkpoint.
  std::string checkpoint_group;
  std::int64_t max_batch_changes = 50000;
  std::int64_t max_batch_bytes = 32 * 1024 * 1024;
  std::int64_t linger_ms = 50;
  std::int64_t status_interval_ms = 10000;
  // The broker aborts a Kafka transaction left open longer than this.
  std::int64_t transaction_timeout_ms = 60000;
  // "initial": a feed with no checkpoint asks for a backfill of every
  // published table as it creates its slot (snapshot.hpp); "never": it
  // publishes only what commits after its slot was created.
  Snapshot snapshot = Snapshot::kNever;
  // The signal table of backfills, in --pg-schema (docs/backfills.md).
  std::string backfill_table = "changefeed_backfills";
  // How often it is asked for a request while no backfill runs.
  std::int64_t backfill_poll_ms = 1000;
  // A slot lost (invalidated, or gone) after changes were published from
  // it: "stop" says so and stops; "backfill" replaces it, publishes a gap
  // record per table and backfills every published table (slot_recovery.hpp).
  SlotLost on_slot_lost = SlotLost::kStop;
  // Chunk size of the backfills the feed asks for itself: the initial
  // snapshot's and a lost slot's.
  std::int64_t backfill_chunk_size = 10000;
  // The records' format: "millrace" (change.hpp) or "debezium"
  // (debezium.hpp), and the Debezium format's settings.
  Format format = Format::kMillrace;
  bool schemas = false;  // JsonConverter's schemas.enable
  debezium::DecimalMode decimal_handling = debezium::DecimalMode::kPrecise;
  // Each table's records to <topic>.<schema>.<table>, created like --topic
  // when missing; --topic itself then holds the feed's markers (op m).
  bool topic_per_table = false;
  bool tombstones = true;
  bool truncates = true;
  bool transaction_metadata = false;
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
