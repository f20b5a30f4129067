#include <cctype>
#include <stdexcept>
#include <string>
#include <utility>

#include "millrace/core/setting.hpp"
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

StreamConfig service_defaults(std::string_view service, std::string topic,
                              kafka::TopicOption topic_option) {
  auto c = service_defaults(service);
  c.kafka.topic = std::move(topic);
  c.topic_option = std::move(topic_option);
  return c;
}

void add_group_option(core::OptionSet& o, std::string_view service, std::string* group) {
  std::string service_upper(service);
  for (auto& ch : service_upper)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  core::declare(
      o, group,
      {.flag = "group",
       .env = "MILLRACE_" + service_upper + "_GROUP",
       .help = "Kafka consumer group (each service has its own variable, so one env file can "
               "serve both)"});
}

void register_options(core::OptionSet& o, StreamConfig& c) {
  kafka::register_options(o, c.kafka, c.topic_option);
  pg::register_service_options(o, c.pg, c.service);
  add_group_option(o, c.service, &c.group);
  o.retire_env("MILLRACE_GROUP",
               "millrace-sink, millrace-aggregator and millrace-webhooks would share it and "
               "become one group that splits the records between them; set MILLRACE_SINK_GROUP, "
               "MILLRACE_AGGREGATOR_GROUP and MILLRACE_WEBHOOKS_GROUP instead");
  // The consuming thread takes them as its next batch begins.
  const auto publish = [&c] { c.reloaded_limits.set({c.batch_size, c.batch_ms}); };
  core::declare(o, &c.batch_size,
                {.flag = "batch-size",
                 .env = "MILLRACE_BATCH_SIZE",
                 .help = "Close a batch after this many consumed records",
                 .min = 1,
                 .max = 1'000'000,
                 .reload = publish});
  core::declare(o, &c.batch_ms,
                {.flag = "batch-ms",
                 .env = "MILLRACE_BATCH_MS",
                 .help = "Close a batch this long after its first record",
                 .min = 1,
                 .max = 600'000,
                 .unit = core::DurationUnit::kMilliseconds,
                 .reload = publish});
  core::declare(
      o, &c.close_when_idle,
      {.flag = "batch-close-when-idle",
       .env = "MILLRACE_BATCH_CLOSE_WHEN_IDLE",
       .help = "Close a batch as soon as no more records are at hand and no commit is in flight, "
               "before batch-ms (a busy stream still fills batches)"});
  core::register_options(o, c.retry);
  core::declare(o, &c.session_timeout_ms,
                {.flag = "session-timeout-ms",
                 .env = "MILLRACE_SESSION_TIMEOUT_MS",
                 .help = "Kafka consumer group session timeout",
                 .min = 1000,
                 .max = 3'600'000,
                 .unit = core::DurationUnit::kMilliseconds});
  core::add_metrics_addr(o, &c.metrics_addr);
  core::declare(
      o, &c.migrate,
      {.flag = "migrate",
       .env = "MILLRACE_MIGRATE",
       .help = "Apply schema migrations at start when the schema is behind and this role may "
               "(false, or a role that may not: wait, not ready, until `millrace migrate` has)"});
  core::declare(
      o, &c.errors_tolerance, kErrorsToleranceNames,
      {.flag = "errors-tolerance",
       .env = "MILLRACE_ERRORS_TOLERANCE",
       .help = "Records PostgreSQL refuses: all = set each aside with its reason and commit the "
               "rest; none = stop on the first"});
  core::declare(
      o, &c.on_offset_gap, kOffsetGapNames,
      {.flag = "on-offset-gap",
       .env = "MILLRACE_ON_OFFSET_GAP",
       .help =
           "A stored offset below the partition's log start (retention passed it): fail = "
           "stop consuming the partition and alert; skip = record the range as lost and go on"});
  core::declare(
      o, &c.stall_timeout_s,
      {.flag = "stall-timeout-s",
       .env = "MILLRACE_STALL_TIMEOUT_S",
       .help = "Report a partition as stalled when it is assigned, behind, and made no progress "
               "for this long",
       .min = 5,
       .max = 86'400,
       .unit = core::DurationUnit::kSeconds});
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
