#include "enrichment.hpp"

#include "millrace/metrics/family.hpp"
#include "millrace/pg/record_text.hpp"

namespace millrace::sink::detail {

// The sink's enrichment's metric families (metrics/family.hpp), in the
// order of their table in docs/operations.md.
const metrics::Family kSkuEnriched(
    {.name = "millrace_sink_enriched_total",
     .type = metrics::Type::kCounter,
     .help = "Kept rows written with the catalog's product name, brand and category "
             "(enrichment on; of a kind enriched on its lines: lines), by whether "
             "the catalog knew the sku (`known`, `unknown`; a batch written again "
             "counts again)",
     .labels = {"sku"},
     .group = "sink-enrichment"});
const metrics::Family kAssetEnriched(
    {.name = "millrace_sink_asset_enriched_total",
     .type = metrics::Type::kCounter,
     .help = "Kept rows of a kind enriched by asset (\"enrich\": {\"asset\": ...}, "
             "trades) written with the asset's description, type and currency "
             "(enrichment on), by whether the assets list the symbol (`known`, "
             "`unknown`; a batch written again counts again)",
     .labels = {"symbol"},
     .group = "sink-enrichment"});

Enrichment::Enrichment(metrics::Registry& metrics, cache::CatalogLookup* lookup)
    : lookup_(lookup),
      enriched_(kSkuEnriched.counter(metrics, {{"sku", "known"}})),
      unknown_sku_(kSkuEnriched.counter(metrics, {{"sku", "unknown"}})) {}

bool Enrichment::append(pg::CopyText& line, std::int64_t sku) const {
  if (const auto product = lookup_->product(sku)) {
    pg::append_enrichment(line, product->name, product->brand, product->category);
    return true;
  }
  pg::append_enrichment(line, std::nullopt, std::nullopt, std::nullopt);
  return false;
}

void Enrichment::count(std::uint64_t rows, std::uint64_t known) {
  enriched_.inc(static_cast<double>(known));
  unknown_sku_.inc(static_cast<double>(rows - known));
}

AssetEnrichment::AssetEnrichment(metrics::Registry& metrics, cache::CatalogLookup* lookup)
    : lookup_(lookup),
      known_(kAssetEnriched.counter(metrics, {{"symbol", "known"}})),
      unknown_(kAssetEnriched.counter(metrics, {{"symbol", "unknown"}})) {}

bool AssetEnrichment::append(pg::CopyText& line,
                             const std::optional<std::string_view>& symbol) const {
  const auto asset = symbol ? lookup_->asset(*symbol) : std::nullopt;
  if (asset) {
    pg::append_enrichment(line, asset->description, asset->type, asset->currency);
    return true;
  }
  pg::append_enrichment(line, std::nullopt, std::nullopt, std::nullopt);
  return false;
}

void AssetEnrichment::count(std::uint64_t rows, std::uint64_t known) {
  known_.inc(static_cast<double>(known));
  unknown_.inc(static_cast<double>(rows - known));
}

}  // namespace millrace::sink::detail
