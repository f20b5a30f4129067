#include <cctype>
#include <stdexcept>

#include "millrace/runtime/registry.hpp"
#include "millrace/stream/consumer.hpp"

namespace millrace::stream {

StreamConfig service_defaults(std::string_view service) {
  StreamConfig c;
  c.service = service;
  c.group = "millrace-" + c.service;
  c.kafka.client_id = c.group;
  c.metrics_addr = runtime::default_metrics_addr(service);
  return c;
}

void add_group_option(core::OptionSet& o, std::string_view service, std::string* group) {
  std::string service_upper(service);
  for (auto& ch : service_upper)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  o.add_string("group", "MILLRACE_" + service_upper + "_GROUP", group,
               "Kafka consumer group (each service has its own variable, so one env file can "
               "serve both)");
}

void register_options(core::OptionSet& o, StreamConfig& c) {
  kafka::register_options(o, c.kafka, c.topic_option);
  pg::register_service_options(o, c.pg, c.service);
  add_group_option(o, c.service, &c.group);
  o.retire_env("MILLRACE_GROUP",
               "millrace-sink, millrace-aggregator and millrace-webhooks would share it and "
               "become one group that splits the records between them; set MILLRACE_SINK_GROUP, "
               "MILLRACE_AGGREGATOR_GROUP and MILLRACE_WEBHOOKS_GROUP instead");
  o.add_int("batch-size", "MILLRACE_BATCH_SIZE", &c.batch_size,
            "Close a batch after this many consumed records", 1, 1'000'000);
  o.add_duration("batch-ms", "MILLRACE_BATCH_MS", &c.batch_ms,
                 core::OptionSet::DurationUnit::kMilliseconds,
                 "Close a batch this long after its first record", 1, 600'000);
  o.add_bool("batch-close-when-idle", "MILLRACE_BATCH_CLOSE_WHEN_IDLE", &c.close_when_idle,
             "Close a batch as soon as no more records are at hand and no commit is in flight, "
             "before batch-ms (a busy stream still fills batches)");
  // The consuming thread takes them as its next batch begins.
  const auto publish = [&c] { c.reloaded_limits.set({c.batch_size, c.batch_ms}); };
  o.reloadable("batch-size", publish);
  o.reloadable("batch-ms", publish);
  core::register_options(o, c.retry);
  o.add_duration("session-timeout-ms", "MILLRACE_SESSION_TIMEOUT_MS", &c.session_timeout_ms,
                 core::OptionSet::DurationUnit::kMilliseconds,
                 "Kafka consumer group session timeout", 1000, 3'600'000);
  core::add_metrics_addr(o, &c.metrics_addr);
  o.add_bool("migrate", "MILLRACE_MIGRATE", &c.migrate,
             "Apply schema migrations at start when the schema is behind and this role may "
             "(false, or a role that may not: wait, not ready, until `millrace migrate` has)");
  o.add_enum("errors-tolerance", "MILLRACE_ERRORS_TOLERANCE", &c.errors_tolerance,
             kErrorsToleranceNames,
             "Records PostgreSQL refuses: all = set each aside with its reason and commit the "
             "rest; none = stop on the first");
  o.add_enum("on-offset-gap", "MILLRACE_ON_OFFSET_GAP", &c.on_offset_gap, kOffsetGapNames,
             "A stored offset below the partition's log start (retention passed it): fail = "
             "stop consuming the partition and alert; skip = record the range as lost and go on");
  o.add_duration("stall-timeout-s", "MILLRACE_STALL_TIMEOUT_S", &c.stall_timeout_s,
                 core::OptionSet::DurationUnit::kSeconds,
                 "Report a partition as stalled when it is assigned, behind, and made no progress "
                 "for this long",
                 5, 86'400);
}

void validate(StreamConfig& c) {
  kafka::validate(c.kafka);
  pg::validate(c.pg);
  if (c.group.empty()) throw core::UsageError("--group must not be empty");
  core::validate(c.retry);
  try {
    kafka::refuse_consumer_overrides(c.kafka.extra);
  } catch (const std::invalid_argument& e) {
    throw core::UsageError(std::string("--kafka-properties / MILLRACE_KAFKA_PROPERTIES: ") +
                           e.what());
  }
}

}  // namespace millrace::stream
