#include "enrichment.hpp"

#include "millrace/pg/record_text.hpp"

namespace millrace::sink::detail {

Enrichment::Enrichment(metrics::Registry& metrics, cache::CatalogLookup* lookup)
    : lookup_(lookup),
      enriched_(metrics.counter("millrace_sink_enriched_total",
                                "Kept rows written with the catalog's product name, brand and "
                                "category (enrichment on)",
                                {{"sku", "known"}})),
      unknown_sku_(metrics.counter("millrace_sink_enriched_total",
                                   "Kept rows written with the catalog's product name, brand "
                                   "and category (enrichment on)",
                                   {{"sku", "unknown"}})) {}

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

namespace {

constexpr const char* kAssetHelp =
    "Kept rows written with the asset's description, type and currency by their symbol "
    "(enrichment on, a kind declaring \"enrich\": {\"asset\": ...})";

}  // namespace

AssetEnrichment::AssetEnrichment(metrics::Registry& metrics, cache::CatalogLookup* lookup)
    : lookup_(lookup),
      known_(
          metrics.counter("millrace_sink_asset_enriched_total", kAssetHelp, {{"symbol", "known"}})),
      unknown_(metrics.counter("millrace_sink_asset_enriched_total", kAssetHelp,
                               {{"symbol", "unknown"}})) {}

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
