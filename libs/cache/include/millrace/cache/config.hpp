#pragma once

#include <cstdint>
#include <string>

#include "millrace/core/options.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/runtime/registry.hpp"
#include "millrace/runtime/reloaded.hpp"

namespace millrace::cache {

// Where the cache lives and how long its entries last: shared by its
// readers (millrace-api) and its invalidator (millrace-cache), which must
// agree on them.
struct StoreOptions {
  std::string redis_url;  // empty: no cache (readers go to PostgreSQL)
  std::string prefix;     // empty: "millrace:<schema>"
  std::int64_t ttl_ms = 3'600'000;
  std::int64_t timeout_ms = 1000;  // connect and each command
};

void register_options(core::OptionSet& options, StoreOptions& store);
// A Redis URL that parse_url() reads (or none). Throws core::UsageError.
void validate(const StoreOptions& store);
// The prefix for `schema` when none was given.
std::string effective_prefix(const StoreOptions& store, const std::string& schema);

// What a SIGHUP may change under a running millrace-cache.
struct CacheLimits {
  std::int64_t batch_size = 500;
  std::int64_t ttl_ms = 3'600'000;
};

// Everything millrace-cache can be told. Member initialisers are the
// defaults; register_options() holds the flags, variables and help.
struct CacheConfig {
  kafka::KafkaClientOptions kafka = kafka::client_options("millrace-cache", "millrace.changes");
  pg::PgOptions pg;
  StoreOptions store = [] {
    StoreOptions s;
    s.redis_url = "redis://127.0.0.1:6379";
    return s;
  }();
  // Readers trust the cache only while the invalidator renews this lease.
  std::int64_t lease_ms = 5000;
  std::int64_t batch_size = 500;
  core::RetryBackoff retry;
  std::string metrics_addr = runtime::default_metrics_addr("cache");
  // batch_size and store.ttl_ms as SIGHUP last set them (register_options
  // marks both reloadable): the invalidator takes them before each round.
  runtime::Reloaded<CacheLimits> reloaded_limits;
};

void register_options(core::OptionSet& options, CacheConfig& config);
// Throws core::UsageError naming the setting.
void validate(CacheConfig& config);

}  // namespace millrace::cache
