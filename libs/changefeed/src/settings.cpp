// The settings of changefeed, each declared once (core::declare): --help,
// --check-config, the SIGHUP marks and docs/configuration.md are made from
// these declarations, in this order.

#include "millrace/changefeed/service.hpp"
#include "millrace/core/options.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/runtime/registry.hpp"

namespace millrace::changefeed {

namespace {

// The outbox format's, each named after the EventRouter setting it is.
void register_outbox_options(core::OptionSet& o, ChangefeedConfig& c) {
  core::declare(o, &c.outbox_id_column,
                {.flag = "outbox-id-column",
                 .env = "MILLRACE_CHANGEFEED_OUTBOX_ID_COLUMN",
                 .help = "Outbox format: the column of the event's id, published as header id "
                         "(table.field.event.id)"});
  core::declare(o, &c.outbox_key_column,
                // Not "key" in its name: a setting so named is shown masked.
                {.flag = "outbox-aggregate-column",
                 .env = "MILLRACE_CHANGEFEED_OUTBOX_AGGREGATE_COLUMN",
                 .help = "Outbox format: the column whose value is the event's Kafka key, which "
                         "keeps one aggregate's events in order on one partition "
                         "(table.field.event.key)"});
  core::declare(o, &c.outbox_payload_column,
                {.flag = "outbox-payload-column",
                 .env = "MILLRACE_CHANGEFEED_OUTBOX_PAYLOAD_COLUMN",
                 .help = "Outbox format: the column of the event's value "
                         "(table.field.event.payload)"});
  core::declare(o, &c.outbox_timestamp_column,
                {.flag = "outbox-timestamp-column",
                 .env = "MILLRACE_CHANGEFEED_OUTBOX_TIMESTAMP_COLUMN",
                 .help = "Outbox format: the timestamp or timestamptz column whose value is the "
                         "event's Kafka timestamp; when empty, or the value null, the time it is "
                         "produced (table.field.event.timestamp)"});
  core::declare(o, &c.outbox_route_by,
                {.flag = "outbox-route-by",
                 .env = "MILLRACE_CHANGEFEED_OUTBOX_ROUTE_BY",
                 .help = "Outbox format: the column whose value names the event's topic "
                         "(route.by.field)"});
  core::declare(o, &c.outbox_topic_regex,
                {.flag = "outbox-topic-regex",
                 .env = "MILLRACE_CHANGEFEED_OUTBOX_TOPIC_REGEX",
                 .help = "Outbox format: a regex matched whole against the route column's "
                         "value, whose groups --outbox-topic names; a value it does not match "
                         "is the topic itself (route.topic.regex)"});
  core::declare(o, &c.outbox_topic,
                {.flag = "outbox-topic",
                 .env = "MILLRACE_CHANGEFEED_OUTBOX_TOPIC",
                 .help = "Outbox format: the event's topic, ${routedByValue} (or $1) standing "
                         "for the route column's value, or ${name} and $n for the groups of "
                         "--outbox-topic-regex (route.topic.replacement); made when missing"});
  core::declare(o, &c.outbox_partitions,
                {.flag = "outbox-partitions",
                 .env = "MILLRACE_CHANGEFEED_OUTBOX_PARTITIONS",
                 .help = "Outbox format: the partition count of an event topic the feed creates "
                         "(0: --topic's)",
                 .min = 0,
                 .max = 100'000});
  core::declare(o, &c.outbox_tombstone_on_empty_payload,
                {.flag = "outbox-tombstone-on-empty-payload",
                 .env = "MILLRACE_CHANGEFEED_OUTBOX_TOMBSTONE_ON_EMPTY_PAYLOAD",
                 .help = "Outbox format: a null or blank payload as a tombstone (a null value) "
                         "(route.tombstone.on.empty.payload)"});
  core::declare(o, &c.outbox_additional_fields,
                {.flag = "outbox-additional-fields",
                 .env = "MILLRACE_CHANGEFEED_OUTBOX_ADDITIONAL_FIELDS",
                 .help = "Outbox format: more columns, each column:header or column:envelope, "
                         "with :alias after either (table.fields.additional.placement)"});
  core::declare(o, &c.outbox_expand_json_payload,
                {.flag = "outbox-expand-json-payload",
                 .env = "MILLRACE_CHANGEFEED_OUTBOX_EXPAND_JSON_PAYLOAD",
                 .help = "Outbox format: the payload's JSON as JSON, not as a string; a payload "
                         "that is not a JSON object or array is dead-lettered "
                         "(table.expand.json.payload)"});
  core::declare(o, &c.outbox_invalid_op, outbox::kInvalidOpNames,
                {.flag = "outbox-invalid-op",
                 .env = "MILLRACE_CHANGEFEED_OUTBOX_INVALID_OP",
                 .help = "Outbox format: an update of an outbox row is ignored with a warning "
                         "(warn) or an error (error) in the log, or stops the feed (fatal); each "
                         "is counted (table.op.invalid.behavior)"});
}

}  // namespace

void register_options(core::OptionSet& o, ChangefeedConfig& c) {
  kafka::register_options(o, c.kafka, kafka::kChangesTopic);
  pg::register_service_options(o, c.pg, "changefeed");
  add_feed_names(o, &c.slot, &c.publication, &c.backfill_table);
  core::declare(o, &c.transactional_id,
                {.flag = "transactional-id",
                 .env = "MILLRACE_CHANGEFEED_TRANSACTIONAL_ID",
                 .help = "Kafka transactional.id (default millrace-changefeed.<slot>)"});
  core::declare(o, &c.checkpoint_group,
                {.flag = "checkpoint-group",
                 .env = "MILLRACE_CHANGEFEED_CHECKPOINT_GROUP",
                 .help = "Consumer group whose committed offset holds the checkpoint (default "
                         "millrace-changefeed.<slot>.checkpoint)"});
  core::declare(o, &c.max_batch_changes,
                {.flag = "max-batch-changes",
                 .env = "MILLRACE_CHANGEFEED_MAX_BATCH_CHANGES",
                 .help = "Publish a Kafka transaction once it holds this many changes",
                 .min = 1,
                 .max = 1'000'000});
  core::declare(o, &c.max_batch_bytes,
                {.flag = "max-batch-bytes",
                 .env = "MILLRACE_CHANGEFEED_MAX_BATCH_BYTES",
                 .help = "Publish a Kafka transaction once its rows' values hold this many bytes",
                 .min = 1024,
                 .max = 1'073'741'824});
  core::declare(o, &c.linger_ms,
                {.flag = "linger-ms",
                 .env = "MILLRACE_CHANGEFEED_LINGER_MS",
                 .help = "Longest a transaction waits for others to share its Kafka transaction "
                         "(one committed before the feed started: 500 ms)",
                 .min = 0,
                 .max = 60'000,
                 .unit = core::DurationUnit::kMilliseconds});
  core::declare(o, &c.status_interval_ms,
                {.flag = "status-interval-ms",
                 .env = "MILLRACE_CHANGEFEED_STATUS_INTERVAL_MS",
                 .help = "Send PostgreSQL a status update at least this often",
                 .min = 100,
                 .max = 600'000,
                 .unit = core::DurationUnit::kMilliseconds});
  core::declare(o, &c.transaction_timeout_ms,
                {.flag = "transaction-timeout-ms",
                 .env = "MILLRACE_CHANGEFEED_TRANSACTION_TIMEOUT_MS",
                 .help = "The broker aborts a Kafka transaction of the feed left open this long",
                 .min = 1000,
                 .max = 3'600'000,
                 .unit = core::DurationUnit::kMilliseconds});
  core::declare(o, &c.snapshot, kSnapshotNames,
                {.flag = "snapshot",
                 .env = "MILLRACE_CHANGEFEED_SNAPSHOT",
                 .help = "initial: a feed with no checkpoint backfills every published table as it "
                         "creates its slot (rows as op r, in chunks, while it streams); never: "
                         "only what commits after its slot exists"});
  core::declare(o, &c.backfill_poll_ms,
                {.flag = "backfill-poll-ms",
                 .env = "MILLRACE_CHANGEFEED_BACKFILL_POLL_MS",
                 .help = "Ask the signal table for a backfill request this often while none runs",
                 .min = 10,
                 .max = 600'000,
                 .unit = core::DurationUnit::kMilliseconds});
  core::declare(
      o, &c.on_slot_lost, kSlotLostNames,
      {.flag = "on-slot-lost",
       .env = "MILLRACE_CHANGEFEED_ON_SLOT_LOST",
       .help = "stop: a slot invalidated or gone after changes were published from it stops the "
               "feed; backfill: replace it, publish a gap record per table and backfill them all"});
  core::declare(o, &c.backfill_chunk_size,
                {.flag = "backfill-chunk-size",
                 .env = "MILLRACE_CHANGEFEED_BACKFILL_CHUNK_SIZE",
                 .help = "Rows per chunk of the backfills the feed asks for itself (the initial "
                         "snapshot's, a lost slot's)",
                 .min = 1,
                 .max = 1'000'000});
  core::declare(
      o, &c.format, kFormatNames,
      {.flag = "format",
       .env = "MILLRACE_CHANGEFEED_FORMAT",
       .help = "millrace: Millrace's change records (proto/change.schema.json); debezium: the "
               "records Debezium's PostgreSQL connector writes (docs/debezium.md); outbox: each "
               "row inserted into the published tables an event, as Debezium's outbox event "
               "router publishes it (docs/outbox.md)"});
  core::declare(o, &c.schemas,
                {.flag = "schemas",
                 .env = "MILLRACE_CHANGEFEED_SCHEMAS",
                 .help = "Debezium format: each key and value as {\"schema\",\"payload\"}, as "
                         "Kafka Connect's JsonConverter with schemas.enable=true writes them"});
  core::declare(o, &c.decimal_handling, debezium::kDecimalModeNames,
                {.flag = "decimal-handling",
                 .env = "MILLRACE_CHANGEFEED_DECIMAL_HANDLING",
                 .help = "Debezium format: numeric and money columns as precise (Connect Decimal), "
                         "string or double, as Debezium's decimal.handling.mode"});
  core::declare(
      o, &c.topic_per_table,
      {.flag = "topic-per-table",
       .env = "MILLRACE_CHANGEFEED_TOPIC_PER_TABLE",
       .help = "Debezium format: each table's records to <topic>.<schema>.<table> (made with "
               "--topic's partition count when missing); --topic keeps the feed's markers"});
  core::declare(o, &c.tombstones,
                {.flag = "tombstones",
                 .env = "MILLRACE_CHANGEFEED_TOMBSTONES",
                 .help = "Debezium format: a tombstone (null value) after each delete, as "
                         "Debezium's tombstones.on.delete"});
  core::declare(o, &c.truncates,
                {.flag = "truncates",
                 .env = "MILLRACE_CHANGEFEED_TRUNCATES",
                 .help = "Debezium format: publish truncates as op t; false skips them, as "
                         "Debezium's skipped.operations=t"});
  core::declare(
      o, &c.transaction_metadata,
      {.flag = "transaction-metadata",
       .env = "MILLRACE_CHANGEFEED_TRANSACTION_METADATA",
       .help =
           "Debezium format: BEGIN and END records of each transaction to <topic>.transaction and "
           "a transaction block in each change, as Debezium's provide.transaction.metadata"});
  register_outbox_options(o, c);
  core::register_options(o, c.retry);
  core::add_metrics_addr(o, &c.metrics_addr);
}

}  // namespace millrace::changefeed
