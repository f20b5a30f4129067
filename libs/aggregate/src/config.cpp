#include "millrace/aggregate/config.hpp"

#include "millrace/archive/config.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/kinds/registry.hpp"

namespace millrace::aggregate {

void register_options(core::OptionSet& o, AggregatorConfig& c) {
  stream::register_options(o, c.stream);
  kinds::register_options(o, c.kinds, core::environment_map(), false);
  core::declare(o, &c.max_lateness_s,
                {.flag = "max-lateness-s",
                 .env = "MILLRACE_MAX_LATENESS_S",
                 .help = "Events older than the newest event time of their partition by more than "
                         "this long go to "
                         "late_events instead of the aggregates; also the dedup horizon",
                 .min = 0,
                 .max = 10LL * 365 * 86400,
                 .unit = core::DurationUnit::kSeconds});
  core::declare(
      o, &c.max_future_s,
      {.flag = "max-future-s",
       .env = "MILLRACE_MAX_FUTURE_S",
       .help = "Events ahead of their Kafka record's timestamp by more than this long go to "
               "late_events",
       .min = 0,
       .max = 10LL * 365 * 86400,
       .unit = core::DurationUnit::kSeconds});
  core::declare(o, &c.view_fill_chunk,
                {.flag = "view-fill-chunk",
                 .env = "MILLRACE_VIEW_FILL_CHUNK",
                 .help = "A declared view made after records were folded is filled from the "
                         "topic's records before it, committing this many folded records at a "
                         "time (docs/views.md)",
                 .min = 1,
                 .max = 10'000'000});
  // The archiver's own declarations: one deployment sets them once.
  archive::register_location(o, c.archive, c.archive_root);
  core::declare(o, &c.archive_group,
                {.flag = "archive-group",
                 .env = "MILLRACE_AGGREGATOR_ARCHIVE_GROUP",
                 .help = "With --archive-url: the consumer group of the millrace-archiver that "
                         "archives the topic, whose archive_files rows list the files a declared "
                         "view's fill reads the records before Kafka's log start from "
                         "(docs/views.md)"});
  kafka::add_topic_option(o, "changes-topic", &c.changes_topic, kafka::kChangesTopic);
  core::declare(o, &c.catalog_wait_ms,
                {.flag = "catalog-wait-ms",
                 .env = "MILLRACE_AGGREGATOR_CATALOG_WAIT_MS",
                 .help = "With a declared view grouped by the catalog: how long a batch waits "
                         "for the catalog (followed on --changes-topic) to be loaded before it "
                         "is retried",
                 .min = 100,
                 .max = 3'600'000,
                 .unit = core::DurationUnit::kMilliseconds});
}

void validate(AggregatorConfig& c) {
  stream::validate(c.stream);
  if (!c.archive.url.empty() || !c.archive_root.empty()) {
    archive::validate_location(c.archive, c.archive_root);
  }
  c.stream.kafka.topic = kinds::resolve(c.kinds, c.stream.kafka.topic);
  if (!c.kinds.declaration) {
    // The store event, folded from its declaration as every kind is, with
    // the views of a views file beside the declarations.
    c.kinds.declaration = kinds::find_kind(kinds::kStoreEvent, c.kinds.kinds_dir);
    return;
  }
  if (!c.kinds.declaration->aggregate && c.kinds.declaration->views.empty()) {
    throw core::UsageError(
        "--kind " + c.kinds.kind +
        ": its declaration has no aggregate section and no views, so there is nothing to "
        "aggregate (docs/kinds.md)");
  }
  // Aggregators of two kinds are two groups: each its own offsets and members.
  const auto defaults = stream::service_defaults("aggregator");
  if (c.stream.group == defaults.group) c.stream.group += "-" + c.kinds.kind;
  if (c.stream.kafka.client_id == defaults.kafka.client_id) {
    c.stream.kafka.client_id += "-" + c.kinds.kind;
  }
}

}  // namespace millrace::aggregate
