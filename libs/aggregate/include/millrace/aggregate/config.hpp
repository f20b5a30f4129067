#pragma once

#include <cstdint>

#include "millrace/core/options.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/objstore/options.hpp"
#include "millrace/stream/consumer.hpp"

namespace millrace::aggregate {

// Everything millrace-aggregator can be told: the shared consumer settings
// plus its own. Member initialisers are the defaults.
struct AggregatorConfig {
  stream::StreamConfig stream = [] {
    auto c = stream::service_defaults("aggregator", kinds::store_event().topic,
                                      kinds::topic_setting(kinds::store_event()));
    // Larger batches than the sink's: a batch upserts every window, product
    // and category it touches once, so that cost shrinks per event as batches
    // grow, and a second more delay is nothing for hourly and daily views.
    // Only a backlog fills one. Draining 1,000,000 events alone by hand:
    // PostgreSQL 6.3 CPU seconds at 20,000, 4.8 at 50,000 (97,000-100,000
    // against 114,000-121,000 events/s), 4.1 at 100,000 (but 103,000/s: the
    // aggregator's own share grows and the first commit comes later). A
    // batch held in memory is about 35 MB at 50,000 (each record's payload
    // is kept, for a refusal), and one more accumulates behind it.
    c.batch_size = 50000;
    c.batch_ms = 1000;
    return c;
  }();
  // Older than the newest event time seen on its partition by more than this:
  // the event goes to late_events instead of the aggregates. Also the dedup
  // horizon: ids are remembered this long (in event time).
  std::int64_t max_lateness_s = 7 * 86400;
  // Ahead of the wall clock by more than this: treated like a late event.
  std::int64_t max_future_s = 3600;
  // A declared view made after records were folded is filled from them in
  // transactions of this many folded records each (view_fill.hpp).
  std::int64_t view_fill_chunk = 20000;
  // Where millrace-archiver archives the topic (its --archive-url, or
  // --root, and the store's settings): a fill reads there the records Kafka
  // no longer holds, as archive_files of the archiver's group lists them.
  // No URL: no archive, and those records are `missing`.
  objstore::StoreOptions archive;
  std::string archive_root;
  std::string archive_group = "millrace-archiver";
  // Which kind it aggregates (--kind): store events (the default), or a
  // declared kind with an aggregate section (orders: the web_orders_* views).
  kinds::KindOptions kinds;
  // A declared view grouped by the catalog ({"catalog": "category"}) folds
  // each row with its product as the catalog holds it, kept in memory and
  // current through this change topic (cache::CatalogLookup, the sink's
  // enrichment's), and a batch waits this long for it to be loaded.
  std::string changes_topic = "millrace.changes";
  std::int64_t catalog_wait_ms = 30'000;
};

void register_options(core::OptionSet& options, AggregatorConfig& config);
void validate(AggregatorConfig& config);

}  // namespace millrace::aggregate
