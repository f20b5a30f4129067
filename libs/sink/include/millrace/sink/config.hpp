#pragma once

#include <string>

#include "millrace/core/filter.hpp"
#include "millrace/core/options.hpp"
#include "millrace/kinds/codec.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/stream/consumer.hpp"

namespace millrace::sink {

// Everything millrace-sink can be told: the shared consumer settings plus the
// sink's own. Member initialisers are the defaults; register_options() holds
// the flag names, environment variables and help.
struct SinkConfig {
  stream::StreamConfig stream = [] {
    auto c = stream::service_defaults("sink", kinds::store_event().topic,
                                      kinds::topic_setting(kinds::store_event()));
    // An event's way to its row starts at its creation: a batch is
    // committed as soon as nothing more is at hand, while a busy topic
    // still fills batches up to the limits.
    c.close_when_idle = true;
    // Only a busy topic fills a batch: each costs a transaction with its
    // offsets, accounting and commit, whatever its size. Two sinks draining
    // a backlog made 5 to 10 % more events/s at 20,000 than at 5,000
    // (docs/benchmarks.md, issue 40).
    c.batch_size = 20000;
    return c;
  }();
  std::string dlq_topic;  // empty: <topic>.dlq
  // Overrides of the store event's keep rule (proto/kinds/store_event.json,
  // "keep"), whose values are their defaults.
  std::vector<std::string> keep_types = kinds::built_in_store_event_keep().keep_types;
  std::string min_discount = kinds::built_in_store_event_keep().min_discount;
  // A dead letter larger than this (payload, key and headers) keeps only the
  // start of its payload, marked millrace.truncated with the original size:
  // a letter the topic cannot take must never stop the sink. Kafka's
  // defaults take about 1 MB (message.max.bytes, max.message.bytes).
  std::int64_t dlq_max_bytes = 900'000;
  // Enrichment: each kept row (of a kind whose declaration says "enrich")
  // gets the product's name, brand and category from the catalog, held in
  // memory and kept current from the change feed (cache::CatalogLookup);
  // one declaring "enrich": {"asset": ...} the asset's description, type
  // and currency by its symbol. Off: those columns stay NULL.
  bool enrich = false;
  std::string changes_topic = "millrace.changes";
  // How long a batch waits for the catalog to be loaded (at start, or after
  // the feed was lost) before the batch is retried from the stored offsets.
  std::int64_t enrich_wait_ms = 30'000;
  // store_events' partitions (docs/operations.md, "The store over time"):
  // made this many days past now, and an event later than that is
  // dead-lettered (ts_out_of_window); dropped once they end more than
  // `store_retention_days` ago (0: never), with the events older than that
  // counted `expired`; looked after every `store_maintain_s`. Fractions of
  // a day count: 0.25 is six hours.
  double store_ahead_days = 2;
  double store_retention_days = 0;
  std::int64_t store_maintain_s = 600;

  // Which kind the sink stores (--kind): store events (the default) or a
  // declared kind, with its topic and personal-data settings.
  kinds::KindOptions kinds;
  core::FilterConfig filter;  // derived by validate()
};

void register_options(core::OptionSet& options, SinkConfig& config);

// Checks cross-field rules and fills the derived members; throws
// core::UsageError naming the setting.
void validate(SinkConfig& config);

}  // namespace millrace::sink
