#include "millrace/changefeed/service.hpp"
#include "millrace/core/failure.hpp"

namespace millrace::changefeed {

namespace {

// Slot and publication names go into replication commands; PostgreSQL's
// own rule for slots (lower-case letters, digits, underscore) keeps them
// safe to quote and the same everywhere.
void check_name(const std::string& flag, const std::string& value) {
  if (value.empty() || value.size() > 63) {
    throw core::UsageError(flag + " must be 1 to 63 characters, got \"" + value + "\"");
  }
  for (const char c : value) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      throw core::UsageError(flag + " may hold only a-z, 0-9 and _, got \"" + value + "\"");
    }
  }
}

}  // namespace

void add_feed_names(core::OptionSet& o, std::string* slot, std::string* publication,
                    std::string* backfill_table) {
  if (slot != nullptr) {
    o.add_string("slot", "MILLRACE_CHANGEFEED_SLOT", slot,
                 "The change feed's logical replication slot (the feed creates it with pgoutput "
                 "if missing)");
  }
  if (publication != nullptr) {
    o.add_string("publication", "MILLRACE_CHANGEFEED_PUBLICATION", publication,
                 "The change feed's publication: the tables it streams (millrace changefeed "
                 "publish creates it)");
  }
  if (backfill_table != nullptr) {
    o.add_string("backfill-table", "MILLRACE_CHANGEFEED_BACKFILL_TABLE", backfill_table,
                 "The signal table of backfill requests, in --pg-schema (millrace changefeed "
                 "publish creates it)");
  }
}

void register_options(core::OptionSet& o, ChangefeedConfig& c) {
  kafka::register_options(o, c.kafka, kafka::kChangesTopic);
  pg::register_service_options(o, c.pg, "changefeed");
  add_feed_names(o, &c.slot, &c.publication, &c.backfill_table);
  o.add_string("transactional-id", "MILLRACE_CHANGEFEED_TRANSACTIONAL_ID", &c.transactional_id,
               "Kafka transactional.id (default millrace-changefeed.<slot>)");
  o.add_string("checkpoint-group", "MILLRACE_CHANGEFEED_CHECKPOINT_GROUP", &c.checkpoint_group,
               "Consumer group whose committed offset holds the checkpoint (default "
               "millrace-changefeed.<slot>.checkpoint)");
  o.add_int("max-batch-changes", "MILLRACE_CHANGEFEED_MAX_BATCH_CHANGES", &c.max_batch_changes,
            "Publish a Kafka transaction once it holds this many changes", 1, 1'000'000);
  o.add_int("max-batch-bytes", "MILLRACE_CHANGEFEED_MAX_BATCH_BYTES", &c.max_batch_bytes,
            "Publish a Kafka transaction once its rows' values hold this many bytes", 1024,
            1024LL * 1024 * 1024);
  o.add_duration("linger-ms", "MILLRACE_CHANGEFEED_LINGER_MS", &c.linger_ms,
                 core::OptionSet::DurationUnit::kMilliseconds,
                 "Longest a transaction waits for others to share its Kafka transaction", 0,
                 60'000);
  o.add_duration("status-interval-ms", "MILLRACE_CHANGEFEED_STATUS_INTERVAL_MS",
                 &c.status_interval_ms, core::OptionSet::DurationUnit::kMilliseconds,
                 "Send PostgreSQL a status update at least this often", 100, 600'000);
  o.add_duration("transaction-timeout-ms", "MILLRACE_CHANGEFEED_TRANSACTION_TIMEOUT_MS",
                 &c.transaction_timeout_ms, core::OptionSet::DurationUnit::kMilliseconds,
                 "The broker aborts a Kafka transaction of the feed left open this long", 1000,
                 3'600'000);
  o.add_enum("snapshot", "MILLRACE_CHANGEFEED_SNAPSHOT", &c.snapshot, kSnapshotNames,
             "initial: a feed with no checkpoint backfills every published table as it creates "
             "its slot (rows as op r, in chunks, while it streams); never: only what commits "
             "after its slot exists");

  o.add_duration("backfill-poll-ms", "MILLRACE_CHANGEFEED_BACKFILL_POLL_MS", &c.backfill_poll_ms,
                 core::OptionSet::DurationUnit::kMilliseconds,
                 "Ask the signal table for a backfill request this often while none runs", 10,
                 600'000);
  o.add_enum("on-slot-lost", "MILLRACE_CHANGEFEED_ON_SLOT_LOST", &c.on_slot_lost, kSlotLostNames,
             "stop: a slot invalidated or gone after changes were published from it stops the "
             "feed; backfill: replace it, publish a gap record per table and backfill them all");
  o.add_int("backfill-chunk-size", "MILLRACE_CHANGEFEED_BACKFILL_CHUNK_SIZE",
            &c.backfill_chunk_size,
            "Rows per chunk of the backfills the feed asks for itself (the initial snapshot's, a "
            "lost slot's)",
            1, 1'000'000);
  o.add_enum("format", "MILLRACE_CHANGEFEED_FORMAT", &c.format, kFormatNames,
             "millrace: Millrace's change records (proto/change.schema.json); debezium: the "
             "records Debezium's PostgreSQL connector writes (docs/debezium.md)");
  o.add_bool("schemas", "MILLRACE_CHANGEFEED_SCHEMAS", &c.schemas,
             "Debezium format: each key and value as {\"schema\",\"payload\"}, as Kafka "
             "Connect's JsonConverter with schemas.enable=true writes them");
  o.add_enum("decimal-handling", "MILLRACE_CHANGEFEED_DECIMAL_HANDLING", &c.decimal_handling,
             debezium::kDecimalModeNames,
             "Debezium format: numeric and money columns as precise (Connect Decimal), string "
             "or double, as Debezium's decimal.handling.mode");
  o.add_bool("topic-per-table", "MILLRACE_CHANGEFEED_TOPIC_PER_TABLE", &c.topic_per_table,
             "Debezium format: each table's records to <topic>.<schema>.<table> (made with "
             "--topic's partition count when missing); --topic keeps the feed's markers");
  o.add_bool("tombstones", "MILLRACE_CHANGEFEED_TOMBSTONES", &c.tombstones,
             "Debezium format: a tombstone (null value) after each delete, as Debezium's "
             "tombstones.on.delete");
  o.add_bool("truncates", "MILLRACE_CHANGEFEED_TRUNCATES", &c.truncates,
             "Debezium format: publish truncates as op t; false skips them, as Debezium's "
             "skipped.operations=t");
  o.add_bool("transaction-metadata", "MILLRACE_CHANGEFEED_TRANSACTION_METADATA",
             &c.transaction_metadata,
             "Debezium format: BEGIN and END records of each transaction to "
             "<topic>.transaction and a transaction block in each change, as Debezium's "
             "provide.transaction.metadata");
  core::register_options(o, c.retry);
  core::add_metrics_addr(o, &c.metrics_addr);
}

void validate(ChangefeedConfig& c) {
  kafka::validate(c.kafka);
  pg::validate(c.pg);
  check_name("--slot", c.slot);
  check_name("--publication", c.publication);
  check_name("--backfill-table", c.backfill_table);
  if (c.transactional_id.empty()) c.transactional_id = "millrace-changefeed." + c.slot;
  if (c.checkpoint_group.empty())
    c.checkpoint_group = "millrace-changefeed." + c.slot + ".checkpoint";
  core::validate(c.retry);
  if (c.format == Format::kMillrace && (c.schemas || c.topic_per_table || c.transaction_metadata)) {
    const char* flag = c.schemas           ? "--schemas"
                       : c.topic_per_table ? "--topic-per-table"
                                           : "--transaction-metadata";
    throw core::UsageError(std::string(flag) +
                           " is a setting of the Debezium format: add --format debezium");
  }
  if (c.kafka.extra.count("transactional.id") != 0) {
    throw core::UsageError(
        "transactional.id cannot be set in --kafka-properties: use --transactional-id");
  }
}

}  // namespace millrace::changefeed
