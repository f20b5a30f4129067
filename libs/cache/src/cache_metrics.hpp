#pragma once

// The catalog cache's metric families (metrics/family.hpp), in the order of
// their tables in docs/operations.md: the invalidator's (millrace-cache, and
// a sink's enrichment) and the readers' (millrace-api).

#include "millrace/metrics/family.hpp"
#include "millrace/metrics/metrics.hpp"

namespace millrace::cache {

inline const metrics::Family kCacheTrusted(
    {.name = "millrace_cache_trusted",
     .type = metrics::Type::kGauge,
     .help = "1 while this invalidator keeps a generation live (readers use the "
             "cache); 0 while it rebuilds, stands by, or has lost the feed, Redis or "
             "PostgreSQL",
     .group = "cache-invalidator"});
inline const metrics::Family kCacheInvalidations(
    {.name = "millrace_cache_invalidations_total",
     .type = metrics::Type::kCounter,
     .help = "Cache entries the invalidator wrote from committed changes (refreshed, "
             "or tombstoned for a delete), by table; `assets` only on a sink "
             "enriching by asset",
     .labels = {"table"},
     .group = "cache-invalidator"});
inline const metrics::Family kCacheInvalidationDelay(
    {.name = "millrace_cache_invalidation_delay_seconds",
     .type = metrics::Type::kHistogram,
     .help = "From a change's commit in PostgreSQL to its entry written in Redis",
     .buckets = metrics::latency_buckets(),
     .group = "cache-invalidator"});
inline const metrics::Family kCacheLag(
    {.name = "millrace_cache_lag_records",
     .type = metrics::Type::kGauge,
     .help = "Change records the invalidator has still to read (end minus position; "
             "every table's: the feed carries them all)",
     .group = "cache-invalidator"});
inline const metrics::Family kCacheLastCommit(
    {.name = "millrace_cache_last_applied_commit_timestamp_seconds",
     .type = metrics::Type::kGauge,
     .help = "Commit time of the last catalog change written to the cache (Unix "
             "seconds)",
     .group = "cache-invalidator"});
inline const metrics::Family kCacheAlreadyLoaded(
    {.name = "millrace_cache_changes_already_loaded_total",
     .type = metrics::Type::kCounter,
     .help = "Changes skipped because the rebuild's snapshot of the database already "
             "held them",
     .group = "cache-invalidator"});
inline const metrics::Family kCacheRebuilds(
    {.name = "millrace_cache_rebuilds_total",
     .type = metrics::Type::kCounter,
     .help = "Rebuilds of the cache from PostgreSQL, by reason (`start`, "
             "`feed_lost`, `store_lost`, `database`, `truncate`, `unreadable`, "
             "`taken_over`)",
     .labels = {"reason"},
     .group = "cache-invalidator"});
inline const metrics::Family kCacheUnreadable(
    {.name = "millrace_cache_unreadable_changes_total",
     .type = metrics::Type::kCounter,
     .help = "Change records of the catalog tables that could not be read (each "
             "forces a rebuild)",
     .group = "cache-invalidator"});
inline const metrics::Family kCacheInvalidatorErrors(
    {.name = "millrace_cache_invalidator_errors_total",
     .type = metrics::Type::kCounter,
     .help = "Failures the invalidator retried, by what failed (`feed`, `store`, "
             "`database`)",
     .labels = {"what"},
     .group = "cache-invalidator"});
inline const metrics::Family kCacheReads(
    {.name = "millrace_cache_reads_total",
     .type = metrics::Type::kCounter,
     .help = "Catalog reads through the cache, by kind (`category`, `categories`, "
             "`product`) and result: `held` (served from this process's memory, the "
             "near cache), `hit` (served from Redis), `miss` (read from PostgreSQL, "
             "then cached), `bypass` (nothing trusted in Redis, or Redis "
             "unreachable: read from PostgreSQL)",
     .labels = {"kind", "result"},
     .group = "cache-readers"});
inline const metrics::Family kCacheFills(
    {.name = "millrace_cache_fills_total",
     .type = metrics::Type::kCounter,
     .help = "Entries a read created after a miss (it never overwrites)",
     .group = "cache-readers"});
inline const metrics::Family kCacheStoreErrors(
    {.name = "millrace_cache_store_errors_total",
     .type = metrics::Type::kCounter,
     .help = "Reads that could not reach Redis and went to PostgreSQL instead (reads "
             "then skip it for 1 s)",
     .group = "cache-readers"});
inline const metrics::Family kCacheNearListening(
    {.name = "millrace_cache_near_listening",
     .type = metrics::Type::kGauge,
     .help = "1 while the near cache hears of Redis' changes (CLIENT TRACKING) and "
             "may hold entries in memory; 0 before, while reconnecting, or with it "
             "off",
     .group = "cache-readers"});
inline const metrics::Family kCacheNearLost(
    {.name = "millrace_cache_near_lost_total",
     .type = metrics::Type::kCounter,
     .help = "Times the near cache's connection to Redis was lost and everything it "
             "held dropped",
     .group = "cache-readers"});

}  // namespace millrace::cache
