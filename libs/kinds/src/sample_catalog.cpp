#include "millrace/kinds/sample_catalog.hpp"

#include <algorithm>
#include <array>

namespace millrace::kinds {

namespace {

constexpr std::array<std::string_view, 20> kCategories = {
    "Notebooks",   "Pens",          "Backpacks", "Pencils",      "Markers",
    "Binders",     "Folders",       "Staplers",  "Scissors",     "Calculators",
    "Erasers",     "Highlighters",  "Rulers",    "Sticky Notes", "Desk Lamps",
    "Lunch Boxes", "Water Bottles", "Envelopes", "Paper Clips",  "Art Supplies",
};

// Each category owns a band of the sku space, holding this many skus.
constexpr std::int64_t kSkuBase = 100'000;
constexpr std::int64_t kSkuBand = 45'000;
constexpr std::int64_t kSkusPerCategory = 300;
constexpr std::int64_t kSkuStep = kSkuBand / kSkusPerCategory;
static_assert(kSkuBase + static_cast<std::int64_t>(kCategories.size()) * kSkuBand - 1 == 999'999);

}  // namespace

std::span<const std::string_view> generated_categories() {
  return kCategories;
}

std::vector<std::int64_t> generated_skus(std::size_t category_index) {
  std::vector<std::int64_t> out;
  if (category_index >= kCategories.size()) return out;
  for (std::int64_t k = 0; k < kSkusPerCategory; ++k) {
    out.push_back(kSkuBase + static_cast<std::int64_t>(category_index) * kSkuBand + k * kSkuStep);
  }
  return out;
}

core::Decimal generated_price(std::int64_t sku) {
  // A property of the sku, not of the record: derived from it by a fixed
  // mix (splitmix64's finaliser).
  auto z = static_cast<std::uint64_t>(sku) + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  const auto cents = static_cast<std::int64_t>(50 + z % (50'000 - 50 + 1));
  return core::Decimal::from_units(cents * (core::Decimal::kOne / 100));
}

std::size_t generated_category_of(std::int64_t sku) {
  const auto band = std::clamp<std::int64_t>((sku - kSkuBase) / kSkuBand, 0,
                                             static_cast<std::int64_t>(kCategories.size()) - 1);
  return static_cast<std::size_t>(band);
}

}  // namespace millrace::kinds
