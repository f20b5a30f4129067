#pragma once

// What the catalog cache's integration tests share: a schema with the
// generated catalog, its change feed, Redis, and the cache's processes.

#include <cstdint>
#include <optional>
#include <string>

#include "changes.hpp"
#include "harness.hpp"
#include "millrace/redis/client.hpp"
#include "pipeline.hpp"

namespace millrace::testing::cache_tests {

// A schema with the generated catalog, its change feed, and Redis.
struct CacheRig {
  Pipeline p;
  std::optional<ChangeFeedRig> feed;
  std::optional<Child> feed_process;
  std::string prefix;

  // `partitions` of the store-events topic (the sink needs an even count).
  explicit CacheRig(std::int32_t partitions = 1);
  ~CacheRig();

  // One value of a query run in the rig's schema.
  std::string scalar(const std::string& sql) const;

  long long count(const std::string& table) const;

  Child start_cache(const std::string& name);

  // millrace-api reading through the cache, its admin writes on the owner's
  // connection (roles are integration.api's subject); `near`: with its
  // near cache (the default), or asking Redis for every read.
  Child start_api(int port, bool near = true);

  // A change made the way an operator makes it by hand.
  void psql(const std::string& sql);

  redis::Client client() const;

  std::optional<std::string> live() const;

  void exec(const std::string& sql);

  // "" when every entry of the live generation equals the database: each
  // row's entry its rendering, the list all of them, and every other entry
  // a tombstone. Otherwise the first differences.
  std::string differences() const;

  // Waits (generously: a busy machine) until the cache equals the database.
  std::string converge();
};

}  // namespace millrace::testing::cache_tests
