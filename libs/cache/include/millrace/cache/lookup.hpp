#pragma once

// The catalog's products (and the assets, when asked) in this process's
// memory, kept equal to the database by following the change feed: the
// invalidator's rules (invalidator.hpp) with a store in memory instead of
// Redis. For the sink's enrichment: lookups are map reads, with no round
// trip per record.
//
// Like the Redis cache, the lookup is usable only once it has loaded the
// whole catalog from one database snapshot, and stops being usable when it
// loses the feed, until it has loaded it again.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "millrace/cache/config.hpp"
#include "millrace/core/options.hpp"
#include "millrace/metrics/metrics.hpp"

namespace millrace::cache {

// What enrichment copies from a product, as the catalog holds it.
struct ProductFacts {
  std::string name;
  std::optional<std::string> brand;
  std::string category;

  friend bool operator==(const ProductFacts&, const ProductFacts&) = default;
};

// What enrichment copies from an asset (migration 0020), as loaded.
struct AssetFacts {
  std::optional<std::string> description, type, currency;

  friend bool operator==(const AssetFacts&, const AssetFacts&) = default;
};

struct LookupConfig {
  kafka::KafkaClientOptions kafka;  // the change topic
  pg::PgOptions pg;                 // the catalog's schema
  bool assets = false;              // the assets are kept too (their table must exist)
  std::int64_t batch_size = 500;
  core::RetryBackoff retry;
};

// A lookup for a consumer service (the sink's enrichment, the aggregator's
// views grouped by the catalog): its Kafka client on `changes_topic`, with
// its client id and "-catalog", its database and its retries.
LookupConfig follow_config(const kafka::KafkaClientOptions& kafka, const std::string& changes_topic,
                           const pg::PgOptions& pg, const core::RetryBackoff& retry);

class CatalogLookup {
 public:
  // `metrics` must outlive the lookup.
  CatalogLookup(LookupConfig config, metrics::Registry& metrics);
  ~CatalogLookup();  // stop()s
  CatalogLookup(const CatalogLookup&) = delete;
  CatalogLookup& operator=(const CatalogLookup&) = delete;

  // Starts following in a thread of its own; nothing needs to be reachable
  // yet.
  void start();
  void stop();  // idempotent

  // True while the catalog is loaded and followed. Thread-safe.
  bool ready() const;
  // Waits up to `timeout` for ready().
  bool wait_ready(std::chrono::milliseconds timeout) const;
  // The product as the catalog holds it now; nullopt for an unknown sku.
  // Meaningful only while ready(). Thread-safe.
  std::optional<ProductFacts> product(std::int64_t sku) const;
  // The asset as the assets table holds it now; nullopt for an unknown
  // symbol, or when the assets are not kept (LookupConfig::assets).
  std::optional<AssetFacts> asset(std::string_view symbol) const;
  // Throws what stopped the lookup for good (a fatal failure: the catalog
  // tables are missing, or not as this build knows them), if anything did;
  // it is then never ready again.
  void rethrow_failure() const;
  // The catalog's generation this process loaded last (each load a new
  // one); 0 before the first.
  std::int64_t generation() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace millrace::cache
