#include "millrace/sink/config.hpp"

#include "millrace/core/decimal.hpp"
#include "millrace/core/event_type.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/core/values.hpp"
#include "millrace/kinds/options.hpp"

namespace millrace::sink {

void register_options(core::OptionSet& o, SinkConfig& c) {
  stream::register_options(o, c.stream);
  kinds::register_options(o, c.kinds, core::environment_map(), true);
  core::declare(o, &c.dlq_topic, kinds::dlq_topic_setting(kinds::store_event()));
  core::declare(
      o, &c.dlq_max_bytes,
      {.flag = "dlq-max-bytes",
       .env = "MILLRACE_DLQ_MAX_BYTES",
       .help = "Largest dead letter written whole; a larger one keeps the start of its payload "
               "(header millrace.truncated, millrace.original_size)",
       .min = 4096,
       .max = 100'000'000});
  core::declare(o, &c.keep_types,
                {.flag = "keep-types",
                 .env = "MILLRACE_KEEP_TYPES",
                 .help = "Event types to persist (sale_event, inventory_event)"});
  core::declare(
      o, &c.min_discount,
      {.flag = "min-discount",
       .env = "MILLRACE_MIN_DISCOUNT",
       .help = "Persist only events whose discount is strictly greater than this (0..100)"});
  core::declare(
      o, &c.enrich,
      {.flag = "enrich",
       .env = "MILLRACE_SINK_ENRICH",
       .help = "Copy each kept row's product name, brand and category from the catalog (and, for "
               "a kind enriched by asset, the asset's description, type and currency by its "
               "symbol), kept in memory and current through the change feed (which must publish "
               "categories and products, and assets); off: those columns stay NULL"});
  kafka::add_topic_option(o, "changes-topic", &c.changes_topic, kafka::kChangesTopic);
  core::declare(o, &c.enrich_wait_ms,
                {.flag = "enrich-wait-ms",
                 .env = "MILLRACE_SINK_ENRICH_WAIT_MS",
                 .help = "How long a batch waits for the catalog to be loaded before it is retried",
                 .min = 100,
                 .max = 3'600'000,
                 .unit = core::DurationUnit::kMilliseconds});
  core::declare(
      o, &c.store_ahead_days,
      {.flag = "store-ahead-days",
       .env = "MILLRACE_STORE_AHEAD_DAYS",
       .help = "Partitions of store_events (with --kind, of the kind's tables) are made this many "
               "days past now (a fraction is a part of a day); a store event later than that is "
               "dead-lettered (reason ts_out_of_window), a declared kind's record gets its "
               "partition made when it comes",
       .min = 1.0 / 1440,
       .max = 366});
  core::declare(
      o, &c.store_retention_days,
      {.flag = "store-retention-days",
       .env = "MILLRACE_STORE_RETENTION_DAYS",
       .help = "Drop partitions of store_events that end more than this many days ago (a "
               "fraction is a part of a day, at least a minute), and count older events "
               "`expired` instead of storing them; 0 keeps every partition. A declared kind's is "
               "--<kind>-retention",
       .min = 0,
       .max = 365'000});
  core::declare(o, &c.store_maintain_s,
                {.flag = "store-maintain-s",
                 .env = "MILLRACE_STORE_MAINTAIN_S",
                 .help = "How often partitions are made ahead and dropped past the retention",
                 .min = 1,
                 .max = 86'400,
                 .unit = core::DurationUnit::kSeconds});
}

void validate(SinkConfig& c) {
  stream::validate(c.stream);
  c.stream.kafka.topic = kinds::resolve(c.kinds, c.stream.kafka.topic);
  if (c.kinds.declaration) {
    // Not --dlq-topic / MILLRACE_DLQ_TOPIC: the store events'.
    c.dlq_topic = kinds::dlq_topic(c.kinds, c.kinds.kind, c.stream.kafka.topic);
    kinds::pii_mode(c.kinds);   // refuses a bad mode, or hash without a key
    kinds::retention(c.kinds);  // refuses a retention that is not a duration
    if (c.enrich && !c.kinds.declaration->enrich && !c.kinds.declaration->enrich_asset) {
      throw core::UsageError("--enrich: kind " + c.kinds.kind +
                             " declares no \"enrich\" (the field holding the catalog's sku, or "
                             "an asset's symbol)");
    }
    // Sinks of two kinds are two groups: each its own offsets and members.
    const auto defaults = stream::service_defaults("sink");
    if (c.stream.group == defaults.group) c.stream.group += "-" + c.kinds.kind;
    if (c.stream.kafka.client_id == defaults.kafka.client_id) {
      c.stream.kafka.client_id += "-" + c.kinds.kind;
    }
  }
  if (c.dlq_topic.empty()) c.dlq_topic = c.stream.kafka.topic + ".dlq";
  if (c.dlq_topic == c.stream.kafka.topic) {
    throw core::UsageError("--dlq-topic must differ from --topic, or invalid messages would loop");
  }
  const auto discount = core::Decimal::parse(c.min_discount);
  if (!discount || *discount < core::Decimal::from_integer(0) ||
      *discount > core::Decimal::from_integer(100)) {
    throw core::UsageError(
        "--min-discount / MILLRACE_MIN_DISCOUNT: expected a number 0..100, got \"" +
        c.min_discount + "\"");
  }
  if (c.store_retention_days > 0 && c.store_retention_days * 1440 < 1) {
    throw core::UsageError(
        "--store-retention-days / MILLRACE_STORE_RETENTION_DAYS: keep at least a minute "
        "(0.000695), or 0 to keep every partition");
  }
  c.filter.min_discount_exclusive = *discount;
  c.filter.keep_sale = false;
  c.filter.keep_inventory = false;
  for (const std::string& item : c.keep_types) {
    const auto type = core::parse_event_type(item);
    if (!type) {
      throw core::UsageError("--keep-types / MILLRACE_KEEP_TYPES: unknown event type \"" + item +
                             "\" (known: sale_event, inventory_event)");
    }
    (*type == core::EventType::kSale ? c.filter.keep_sale : c.filter.keep_inventory) = true;
  }
  if (!c.filter.keep_sale && !c.filter.keep_inventory) {
    throw core::UsageError("--keep-types / MILLRACE_KEEP_TYPES must name at least one event type");
  }
}

}  // namespace millrace::sink
