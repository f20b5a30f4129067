#include "millrace/cache/config.hpp"

#include "millrace/redis/client.hpp"

namespace millrace::cache {

void register_options(core::OptionSet& o, StoreOptions& s) {
  o.add_string("redis-url", "MILLRACE_REDIS_URL", &s.redis_url,
               "Redis holding the catalog cache, redis://host:port[/db] (for millrace-api, empty: "
               "no cache, every read goes to PostgreSQL)");
  o.add_string("cache-prefix", "MILLRACE_CACHE_PREFIX", &s.prefix,
               "Prefix of the cache's Redis keys (default millrace:<schema>); the API and "
               "millrace-cache must use the same");
  o.add_duration("cache-ttl-ms", "MILLRACE_CACHE_TTL_MS", &s.ttl_ms,
                 core::OptionSet::DurationUnit::kMilliseconds,
                 "Lifetime of a cache entry: only a last backstop, since every committed change "
                 "refreshes its entry",
                 1000, 7LL * 24 * 3600 * 1000);
  o.add_duration("redis-timeout-ms", "MILLRACE_REDIS_TIMEOUT_MS", &s.timeout_ms,
                 core::OptionSet::DurationUnit::kMilliseconds,
                 "Give up on connecting to Redis, or on a command, after this long", 10, 60'000);
}

void validate(const StoreOptions& s) {
  if (!s.redis_url.empty()) redis::parse_url(s.redis_url);  // throws UsageError naming it
}

std::string effective_prefix(const StoreOptions& store, const std::string& schema) {
  return store.prefix.empty() ? "millrace:" + schema : store.prefix;
}

void register_options(core::OptionSet& o, CacheConfig& c) {
  kafka::register_options(o, c.kafka, kafka::kChangesTopic);
  pg::register_service_options(o, c.pg, "cache");
  register_options(o, c.store);
  o.add_duration(
      "lease-ms", "MILLRACE_CACHE_LEASE_MS", &c.lease_ms,
      core::OptionSet::DurationUnit::kMilliseconds,
      "Readers trust the cache only while millrace-cache renews its lease; if it dies or "
      "stalls, they read PostgreSQL within this long",
      500, 600'000);
  o.add_int("batch-size", "MILLRACE_CACHE_BATCH_SIZE", &c.batch_size,
            "Change records read before the cache is written (one Redis round trip)", 1, 100'000);
  // Here and not in StoreOptions: millrace-api reads --cache-ttl-ms at start only.
  const auto publish = [&c] { c.reloaded_limits.set({c.batch_size, c.store.ttl_ms}); };
  o.reloadable("batch-size", publish);
  o.reloadable("cache-ttl-ms", publish);
  core::register_options(o, c.retry);
  core::add_metrics_addr(o, &c.metrics_addr);
}

void validate(CacheConfig& c) {
  kafka::validate(c.kafka);
  pg::validate(c.pg);
  core::validate(c.retry);
  if (c.store.redis_url.empty()) {
    throw core::UsageError("--redis-url / MILLRACE_REDIS_URL: millrace-cache needs a Redis");
  }
  validate(c.store);
}

}  // namespace millrace::cache
