#include "millrace/sink/config.hpp"

#include <stdexcept>

#include "millrace/core/decimal.hpp"
#include "millrace/core/event.hpp"

namespace millrace::sink {

void register_options(core::OptionSet& o, SinkConfig& c) {
  o.add_string("brokers", "MILLRACE_BROKERS", &c.brokers, "Kafka bootstrap servers, host:port[,...]");
  o.add_string("pg", "MILLRACE_PG", &c.pg, "PostgreSQL conninfo or URI", /*secret=*/false);
  o.add_string("pg-schema", "MILLRACE_PG_SCHEMA", &c.pg_schema,
               "PostgreSQL schema holding Millrace's tables (created if missing)");
  o.add_string("topic", "MILLRACE_TOPIC", &c.topic, "Kafka topic of store events");
  o.add_string("dlq-topic", "MILLRACE_DLQ_TOPIC", &c.dlq_topic,
               "Dead-letter topic for invalid messages (default: <topic>.dlq)");
  o.add_string("group", "MILLRACE_GROUP", &c.group, "Kafka consumer group of the sink workers");
  o.add_string("client-id", "MILLRACE_CLIENT_ID", &c.client_id, "Kafka client.id");
  o.add_string("keep-types", "MILLRACE_KEEP_TYPES", &c.keep_types,
               "Comma-separated event types to persist (sale_event, inventory_event)");
  o.add_string("min-discount", "MILLRACE_MIN_DISCOUNT", &c.min_discount,
               "Persist only events whose discount is strictly greater than this (0..100)");
  o.add_int("batch-size", "MILLRACE_BATCH_SIZE", &c.batch_size,
            "Close a batch after this many consumed records", 1, 1'000'000);
  o.add_int("batch-ms", "MILLRACE_BATCH_MS", &c.batch_ms,
            "Close a batch this many milliseconds after its first record", 1, 600'000);
  o.add_int("retry-backoff-ms", "MILLRACE_RETRY_BACKOFF_MS", &c.retry_backoff_ms,
            "First wait after a retryable PostgreSQL or Kafka failure", 1, 600'000);
  o.add_int("retry-backoff-max-ms", "MILLRACE_RETRY_BACKOFF_MAX_MS", &c.retry_backoff_max_ms,
            "Longest wait between retries (the wait doubles up to this)", 1, 3'600'000);
  o.add_int("session-timeout-ms", "MILLRACE_SESSION_TIMEOUT_MS", &c.session_timeout_ms,
            "Kafka consumer group session timeout", 1000, 3'600'000);
  o.add_string("kafka-properties", "MILLRACE_KAFKA_PROPERTIES", &c.kafka_properties,
               "Extra librdkafka properties, key=value[,key=value...]");
  o.add_bool("migrate", "MILLRACE_MIGRATE", &c.migrate,
             "Apply schema migrations at start (false: require them applied)");
}

void validate(SinkConfig& c) {
  if (c.brokers.empty()) throw core::UsageError("--brokers / MILLRACE_BROKERS must not be empty");
  if (c.pg.empty()) throw core::UsageError("--pg / MILLRACE_PG must not be empty");
  if (c.topic.empty()) throw core::UsageError("--topic / MILLRACE_TOPIC must not be empty");
  if (c.group.empty()) throw core::UsageError("--group / MILLRACE_GROUP must not be empty");
  if (c.pg_schema.empty()) throw core::UsageError("--pg-schema / MILLRACE_PG_SCHEMA must not be empty");
  if (c.dlq_topic.empty()) c.dlq_topic = c.topic + ".dlq";
  if (c.dlq_topic == c.topic) {
    throw core::UsageError("--dlq-topic must differ from --topic, or invalid messages would loop");
  }
  if (c.retry_backoff_max_ms < c.retry_backoff_ms) {
    throw core::UsageError("--retry-backoff-max-ms must be >= --retry-backoff-ms");
  }

  const auto discount = core::Decimal::parse(c.min_discount);
  if (!discount || *discount < core::Decimal::from_integer(0) ||
      *discount > core::Decimal::from_integer(100)) {
    throw core::UsageError("--min-discount / MILLRACE_MIN_DISCOUNT: expected a number 0..100, got \"" +
                           c.min_discount + "\"");
  }
  c.filter.min_discount_exclusive = *discount;
  c.filter.keep_sale = false;
  c.filter.keep_inventory = false;
  std::string_view rest = c.keep_types;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (item.empty()) continue;
    const auto type = core::parse_event_type(item);
    if (!type) {
      throw core::UsageError("--keep-types / MILLRACE_KEEP_TYPES: unknown event type \"" +
                             std::string(item) + "\" (known: sale_event, inventory_event)");
    }
    (*type == core::EventType::kSale ? c.filter.keep_sale : c.filter.keep_inventory) = true;
  }
  if (!c.filter.keep_sale && !c.filter.keep_inventory) {
    throw core::UsageError("--keep-types / MILLRACE_KEEP_TYPES must name at least one event type");
  }
  try {
    c.kafka_extra = kafka::parse_properties(c.kafka_properties);
  } catch (const std::invalid_argument& e) {
    throw core::UsageError(std::string("--kafka-properties / MILLRACE_KAFKA_PROPERTIES: ") +
                           e.what());
  }
}

}  // namespace millrace::sink
