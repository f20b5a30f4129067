#include <stdexcept>

#include "millrace/stream/consumer.hpp"

namespace millrace::stream {

void register_options(core::OptionSet& o, StreamConfig& c) {
  o.add_string("brokers", "MILLRACE_BROKERS", &c.brokers, "Kafka bootstrap servers, host:port[,...]");
  o.add_string("pg", "MILLRACE_PG", &c.pg, "PostgreSQL conninfo or URI");
  o.add_string("pg-schema", "MILLRACE_PG_SCHEMA", &c.pg_schema,
               "PostgreSQL schema holding Millrace's tables (created if missing)");
  o.add_string("topic", "MILLRACE_TOPIC", &c.topic, "Kafka topic of store events");
  o.add_string("group", "MILLRACE_GROUP", &c.group, "Kafka consumer group");
  o.add_string("client-id", "MILLRACE_CLIENT_ID", &c.client_id, "Kafka client.id");
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
  o.add_string("metrics-addr", "MILLRACE_METRICS_ADDR", &c.metrics_addr,
               "host:port serving Prometheus metrics at /metrics (empty: off)");
  o.add_bool("migrate", "MILLRACE_MIGRATE", &c.migrate,
             "Apply schema migrations at start (false: require them applied)");
}

void validate(StreamConfig& c) {
  if (c.brokers.empty()) throw core::UsageError("--brokers / MILLRACE_BROKERS must not be empty");
  if (c.pg.empty()) throw core::UsageError("--pg / MILLRACE_PG must not be empty");
  if (c.topic.empty()) throw core::UsageError("--topic / MILLRACE_TOPIC must not be empty");
  if (c.group.empty()) throw core::UsageError("--group / MILLRACE_GROUP must not be empty");
  if (c.pg_schema.empty()) {
    throw core::UsageError("--pg-schema / MILLRACE_PG_SCHEMA must not be empty");
  }
  if (c.retry_backoff_max_ms < c.retry_backoff_ms) {
    throw core::UsageError("--retry-backoff-max-ms must be >= --retry-backoff-ms");
  }
  try {
    c.kafka_extra = kafka::parse_properties(c.kafka_properties);
  } catch (const std::invalid_argument& e) {
    throw core::UsageError(std::string("--kafka-properties / MILLRACE_KAFKA_PROPERTIES: ") +
                           e.what());
  }
}

}  // namespace millrace::stream
