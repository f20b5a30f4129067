#pragma once

// The catalog that matches `millrace generate`'s events: every category the
// generator draws, and every sku it draws from, with the list price its
// events carry. Deterministic: the same every time.

#include <vector>

#include "millrace/catalog/records.hpp"

namespace millrace::catalog {

std::vector<Category> generated_categories();
std::vector<Product> generated_products();

}  // namespace millrace::catalog
