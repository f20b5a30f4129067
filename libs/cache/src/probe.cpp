#include "probe.hpp"

#include <iterator>
#include <string>

#include "cache_metrics.hpp"

namespace millrace::cache {

namespace {

constexpr std::string_view kKinds[] = {"category", "categories", "product"};
constexpr std::string_view kResults[] = {"hit", "miss", "bypass", "held"};

}  // namespace

ReadProbe::ReadProbe(metrics::Registry& registry)
    : store_errors_(kCacheStoreErrors.counter(registry)),
      fills_(kCacheFills.counter(registry)),
      near_listening_(kCacheNearListening.gauge(registry)),
      near_lost_(kCacheNearLost.counter(registry)) {
  for (std::size_t k = 0; k < 3; ++k) {
    for (std::size_t r = 0; r < std::size(kResults); ++r) {
      reads_.push_back(kCacheReads.counter(
          registry, {{"kind", std::string(kKinds[k])}, {"result", std::string(kResults[r])}}));
    }
  }
}

void ReadProbe::read(ReadKind kind, ReadResult result) {
  reads_[static_cast<std::size_t>(kind) * std::size(kResults) + static_cast<std::size_t>(result)]
      .inc();
}

}  // namespace millrace::cache

namespace millrace::cache::detail {

InvalidatorProbe::InvalidatorProbe(metrics::Registry& registry)
    : registry_(registry),
      written_categories_(kCacheInvalidations.counter(registry, {{"table", "categories"}})),
      written_products_(kCacheInvalidations.counter(registry, {{"table", "products"}})),
      skipped_(kCacheAlreadyLoaded.counter(registry)),
      unreadable_(kCacheUnreadable.counter(registry)),
      delay_(kCacheInvalidationDelay.histogram(registry)),
      trusted_(kCacheTrusted.gauge(registry)),
      lag_(kCacheLag.gauge(registry)),
      last_commit_(kCacheLastCommit.gauge(registry)) {}

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
      kCacheInvalidations.counter(registry_, {{"table", "assets"}})
          .inc(static_cast<double>(entries));
      break;
  }
}

void InvalidatorProbe::rebuilt(std::string_view reason) {
  kCacheRebuilds.counter(registry_, {{"reason", std::string(reason)}}).inc();
}

void InvalidatorProbe::error(std::string_view what) {
  kCacheInvalidatorErrors.counter(registry_, {{"what", std::string(what)}}).inc();
}

}  // namespace millrace::cache::detail
