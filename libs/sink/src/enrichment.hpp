#pragma once

// Enrichment of a batch's rows from the reference data the sink holds in
// memory (cache::CatalogLookup, null: off): a product's facts by sku (store
// events, and a kind declaring "enrich": {"sku": ...}), and an asset's by
// symbol ("enrich": {"asset": ...}). What a row gets is what was known when
// it was stored; an unknown key leaves its columns NULL, and is counted.

#include <cstdint>
#include <string_view>

#include "millrace/cache/lookup.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/pg/copy.hpp"

namespace millrace::sink::detail {

// Enrichment of a batch's rows from the catalog held in memory (null
// lookup: off), for any kind: the product's name, brand and category of a
// row's sku, NULL for an unknown one, counted per write (a batch written
// again, a refused record isolated or a retried commit, counts its rows
// again, like the dead letters).
class Enrichment {
 public:
  // `lookup` must outlive this.
  Enrichment(metrics::Registry& metrics, cache::CatalogLookup* lookup);

  bool on() const { return lookup_ != nullptr; }
  // The catalog as it is now: what a row is enriched with is what was
  // known when it was stored. False: the sku is unknown.
  bool append(pg::CopyText& line, std::int64_t sku) const;
  // After a write's `rows` are copied, `known` of them enriched.
  void count(std::uint64_t rows, std::uint64_t known);

 private:
  cache::CatalogLookup* lookup_;
  metrics::Counter enriched_, unknown_sku_;
};

// The asset's description, type and currency by a row's symbol
// (pg::kAssetColumns), counted per write like Enrichment.
class AssetEnrichment {
 public:
  // `lookup` must outlive this.
  AssetEnrichment(metrics::Registry& metrics, cache::CatalogLookup* lookup);

  bool on() const { return lookup_ != nullptr; }
  // False: the symbol is unknown (or absent: nullopt).
  bool append(pg::CopyText& line, const std::optional<std::string_view>& symbol) const;
  void count(std::uint64_t rows, std::uint64_t known);

 private:
  cache::CatalogLookup* lookup_;
  metrics::Counter known_, unknown_;
};

}  // namespace millrace::sink::detail
