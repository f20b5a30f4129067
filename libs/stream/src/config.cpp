#include <cctype>
#include <stdexcept>

#include "millrace/stream/consumer.hpp"

namespace millrace::stream {

void register_options(core::OptionSet& o, StreamConfig& c) {
  o.add_string("brokers", "MILLRACE_BROKERS", &c.brokers, "Kafka bootstrap servers, host:port[,...]");
  o.add_string("pg", "MILLRACE_PG", &c.pg, "PostgreSQL conninfo or URI");
  o.add_string("pg-schema", "MILLRACE_PG_SCHEMA", &c.pg_schema,
               "PostgreSQL schema holding Millrace's tables (created if missing)");
  o.add_string("topic", "MILLRACE_TOPIC", &c.topic, "Kafka topic of store events");
  std::string kind_upper = c.kind;
  for (auto& ch : kind_upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  o.add_string("group", "MILLRACE_" + kind_upper + "_GROUP", &c.group,
               "Kafka consumer group (each service has its own variable, so one env file can "
               "serve both)");
  o.retire_env("MILLRACE_GROUP",
               "millrace-sink and millrace-aggregator would share it and become one group that "
               "splits the records between them; set MILLRACE_SINK_GROUP and "
               "MILLRACE_AGGREGATOR_GROUP instead");
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
  o.add_int("pg-statement-timeout-ms", "MILLRACE_PG_STATEMENT_TIMEOUT_MS",
            &c.pg_statement_timeout_ms,
            "PostgreSQL statement_timeout of the consumer's sessions (0: none)", 0, 3'600'000);
  o.add_int("pg-lock-timeout-ms", "MILLRACE_PG_LOCK_TIMEOUT_MS", &c.pg_lock_timeout_ms,
            "PostgreSQL lock_timeout: the longest wait for another session's row locks (0: none)",
            0, 3'600'000);
  o.add_int("pg-idle-in-transaction-timeout-ms", "MILLRACE_PG_IDLE_IN_TRANSACTION_TIMEOUT_MS",
            &c.pg_idle_in_transaction_timeout_ms,
            "PostgreSQL ends a session of this consumer idle inside a transaction this long (a "
            "frozen member), releasing its locks (0: never)",
            0, 3'600'000);
  o.add_int("pg-tcp-user-timeout-ms", "MILLRACE_PG_TCP_USER_TIMEOUT_MS",
            &c.pg_tcp_user_timeout_ms,
            "Drop a PostgreSQL connection whose sent data stays unacknowledged this long "
            "(libpq tcp_user_timeout; keepalives probe an idle one)",
            1000, 3'600'000);
  o.add_int("pg-connect-timeout-s", "MILLRACE_PG_CONNECT_TIMEOUT_S", &c.pg_connect_timeout_s,
            "Give up one attempt to connect to PostgreSQL after this many seconds", 2, 3600);
  o.add_string("errors-tolerance", "MILLRACE_ERRORS_TOLERANCE", &c.errors_tolerance,
               "Records PostgreSQL refuses: all = set each aside with its reason and commit the "
               "rest; none = stop on the first");
  o.add_string("on-offset-gap", "MILLRACE_ON_OFFSET_GAP", &c.on_offset_gap,
               "A stored offset below the partition's log start (retention passed it): fail = "
               "stop consuming the partition and alert; skip = record the range as lost and go on");
  o.add_int("stall-timeout-s", "MILLRACE_STALL_TIMEOUT_S", &c.stall_timeout_s,
            "Report a partition as stalled when it is assigned, behind, and made no progress "
            "for this many seconds",
            5, 86'400);
}

void validate(StreamConfig& c) {
  if (c.brokers.empty()) throw core::UsageError("--brokers / MILLRACE_BROKERS must not be empty");
  if (c.pg.empty()) throw core::UsageError("--pg / MILLRACE_PG must not be empty");
  if (c.topic.empty()) throw core::UsageError("--topic / MILLRACE_TOPIC must not be empty");
  if (c.group.empty()) throw core::UsageError("--group must not be empty");
  if (c.pg_schema.empty()) {
    throw core::UsageError("--pg-schema / MILLRACE_PG_SCHEMA must not be empty");
  }
  if (c.retry_backoff_max_ms < c.retry_backoff_ms) {
    throw core::UsageError("--retry-backoff-max-ms must be >= --retry-backoff-ms");
  }
  if (c.errors_tolerance != "all" && c.errors_tolerance != "none") {
    throw core::UsageError("--errors-tolerance / MILLRACE_ERRORS_TOLERANCE must be all or none, "
                           "not \"" + c.errors_tolerance + "\"");
  }
  c.tolerate_refusals = c.errors_tolerance == "all";
  if (c.on_offset_gap != "fail" && c.on_offset_gap != "skip") {
    throw core::UsageError("--on-offset-gap / MILLRACE_ON_OFFSET_GAP must be fail or skip, not \"" +
                           c.on_offset_gap + "\"");
  }
  c.skip_offset_gaps = c.on_offset_gap == "skip";
  try {
    c.kafka_extra = kafka::parse_properties(c.kafka_properties);
    kafka::refuse_consumer_overrides(c.kafka_extra);
  } catch (const std::invalid_argument& e) {
    throw core::UsageError(std::string("--kafka-properties / MILLRACE_KAFKA_PROPERTIES: ") +
                           e.what());
  }
}

}  // namespace millrace::stream
