#pragma once

// The catalog the generator (generator.hpp) draws products from: its
// catalog_sku, catalog_category_of and catalog_price_of rules. A reference
// catalog written from it (`millrace generate --catalog`) holds every
// category and sku the generated records name, at the price they carry.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "millrace/core/decimal.hpp"

namespace millrace::kinds {

// The categories, in order.
std::span<const std::string_view> generated_categories();
// The skus category `category_index` owns (a band of the sku space); none
// past the last category.
std::vector<std::int64_t> generated_skus(std::size_t category_index);
// The price of a sku, the same in every record: 0.50 .. 500.00.
core::Decimal generated_price(std::int64_t sku);
// The index of the category owning one of the skus.
std::size_t generated_category_of(std::int64_t sku);

}  // namespace millrace::kinds
