#include "probe.hpp"

#include <iterator>
#include <string>

namespace millrace::cache {

namespace {

constexpr std::string_view kKinds[] = {"category", "categories", "product"};
constexpr std::string_view kResults[] = {"hit", "miss", "bypass", "held"};

}  // namespace

ReadProbe::ReadProbe(metrics::Registry& registry)
    : store_errors_(
          registry.counter("millrace_cache_store_errors_total",
                           "Reads that could not reach Redis and went to PostgreSQL instead")),
      fills_(registry.counter("millrace_cache_fills_total",
                              "Entries a read created after a miss (it never overwrites)")),
      near_listening_(registry.gauge(
          "millrace_cache_near_listening",
          "1 while the near cache hears of Redis' changes (CLIENT TRACKING) and may hold "
          "entries in memory")),
      near_lost_(registry.counter(
          "millrace_cache_near_lost_total",
          "Times the near cache's connection to Redis was lost and everything it held dropped")) {
  for (std::size_t k = 0; k < 3; ++k) {
    for (std::size_t r = 0; r < std::size(kResults); ++r) {
      reads_.push_back(registry.counter(
          "millrace_cache_reads_total",
          "Catalog reads through the cache: held (served from this process's memory, the "
          "near cache), hit (served from Redis), miss (read from PostgreSQL, then cached), "
          "bypass (nothing trusted in Redis, or Redis unreachable: read from PostgreSQL)",
          {{"kind", std::string(kKinds[k])}, {"result", std::string(kResults[r])}}));
    }
  }
}

void ReadProbe::read(ReadKind kind, ReadResult result) {
  reads_[static_cast<std::size_t>(kind) * std::size(kResults) + static_cast<std::size_t>(result)]
      .inc();
}

}  // namespace millrace::cache

namespace millrace::cache::detail {

namespace {

constexpr const char* kWrittenHelp =
    "Cache entries the invalidator wrote from committed changes (refreshed or deleted)";

}  // namespace

InvalidatorProbe::InvalidatorProbe(metrics::Registry& registry)
    : registry_(registry),
      written_categories_(registry.counter("millrace_cache_invalidations_total", kWrittenHelp,
                                           {{"table", "categories"}})),
      written_products_(registry.counter("millrace_cache_invalidations_total", kWrittenHelp,
                                         {{"table", "products"}})),
      skipped_(registry.counter(
          "millrace_cache_changes_already_loaded_total",
          "Changes skipped because the rebuild's snapshot of the database already held them")),
      unreadable_(registry.counter(
          "millrace_cache_unreadable_changes_total",
          "Change records of the catalog tables that could not be read (each forces a rebuild)")),
      delay_(
          registry.histogram("millrace_cache_invalidation_delay_seconds",
                             "From a change's commit in PostgreSQL to its entry written in Redis",
                             metrics::latency_buckets())),
      trusted_(registry.gauge("millrace_cache_trusted",
                              "1 while this invalidator keeps a generation live (readers use "
                              "the cache), 0 while it rebuilds or has lost the feed or Redis")),
      lag_(registry.gauge("millrace_cache_lag_records",
                          "Change records the invalidator has still to read (end minus position)")),
      last_commit_(registry.gauge(
          "millrace_cache_last_applied_commit_timestamp_seconds",
          "Commit time of the last catalog change written to the cache (Unix seconds)")) {}

void InvalidatorProbe::written(catalog::Table table, std::size_t entries) {
  switch (table) {
    case catalog::Table::kCategories:
      written_categories_.inc(static_cast<double>(entries));
      break;
    case catalog::Table::kProducts:
      written_products_.inc(static_cast<double>(entries));
      break;
    case catalog::Table::kAssets:
      // Only a sink enriching by asset follows them: registered when used.
      registry_.counter("millrace_cache_invalidations_total", kWrittenHelp, {{"table", "assets"}})
          .inc(static_cast<double>(entries));
      break;
  }
}

void InvalidatorProbe::rebuilt(std::string_view reason) {
  registry_
      .counter("millrace_cache_rebuilds_total",
               "Rebuilds of the cache from PostgreSQL, by reason (start, feed_lost, "
               "store_lost, truncate, unreadable, taken_over)",
               {{"reason", std::string(reason)}})
      .inc();
}

void InvalidatorProbe::error(std::string_view what) {
  registry_
      .counter("millrace_cache_invalidator_errors_total",
               "Failures the invalidator retried, by what failed (feed, store, database)",
               {{"what", std::string(what)}})
      .inc();
}

}  // namespace millrace::cache::detail
