#include "millrace/cache/config.hpp"

#include "millrace/core/setting.hpp"
#include "millrace/redis/client.hpp"

namespace millrace::cache {

void register_options(core::OptionSet& o, StoreOptions& s) {
  core::declare(
      o, &s.redis_url,
      {.flag = "redis-url",
       .env = "MILLRACE_REDIS_URL",
       .help = "Redis holding the catalog cache, redis://host:port[/db] (for millrace-api, empty: "
               "no cache, every read goes to PostgreSQL)"});
  core::declare(
      o, &s.prefix,
      {.flag = "cache-prefix",
       .env = "MILLRACE_CACHE_PREFIX",
       .help = "Prefix of the cache's Redis keys (default millrace:<schema>); the API and "
               "millrace-cache must use the same"});
  core::declare(
      o, &s.ttl_ms,
      {.flag = "cache-ttl-ms",
       .env = "MILLRACE_CACHE_TTL_MS",
       .help = "Lifetime of a cache entry: only a last backstop, since every committed change "
               "refreshes its entry",
       .min = 1000,
       .max = 7LL * 24 * 3600 * 1000,
       .unit = core::DurationUnit::kMilliseconds});
  core::declare(o, &s.timeout_ms,
                {.flag = "redis-timeout-ms",
                 .env = "MILLRACE_REDIS_TIMEOUT_MS",
                 .help = "Give up on connecting to Redis, or on a command, after this long",
                 .min = 10,
                 .max = 60'000,
                 .unit = core::DurationUnit::kMilliseconds});
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
  core::declare(
      o, &c.lease_ms,
      {.flag = "lease-ms",
       .env = "MILLRACE_CACHE_LEASE_MS",
       .help = "Readers trust the cache only while millrace-cache renews its lease; if it dies or "
               "stalls, they read PostgreSQL within this long",
       .min = 500,
       .max = 600'000,
       .unit = core::DurationUnit::kMilliseconds});
  // Both reload; --cache-ttl-ms is StoreOptions', which millrace-api reads at start
  // only, so millrace-cache marks it here.
  const auto publish = [&c] { c.reloaded_limits.set({c.batch_size, c.store.ttl_ms}); };
  core::declare(o, &c.batch_size,
                {.flag = "batch-size",
                 .env = "MILLRACE_CACHE_BATCH_SIZE",
                 .help = "Change records read before the cache is written (one Redis round trip)",
                 .min = 1,
                 .max = 100'000,
                 .reload = publish});
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
