#include "millrace/catalog/generated.hpp"

#include <array>

#include "millrace/kinds/sample_catalog.hpp"

namespace millrace::catalog {

namespace {

constexpr std::array<std::string_view, 8> kBrands = {
    "Northwind", "Contoso", "Fabrikam", "Tailspin", "Litware", "Proseware", "Adatum", "Wingtip",
};
constexpr std::array<std::string_view, 6> kLines = {
    "Classic", "Pro", "Eco", "Mini", "Max", "Studio",
};

}  // namespace

std::vector<Category> generated_categories() {
  std::vector<Category> out;
  for (const auto name : kinds::generated_categories()) {
    Category c;
    c.name = std::string(name);
    c.display_name = std::string(name);
    c.description = "Everything in " + std::string(name) + ", for school and office.";
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<Product> generated_products() {
  std::vector<Product> out;
  const auto categories = kinds::generated_categories();
  for (std::size_t i = 0; i < categories.size(); ++i) {
    for (const std::int64_t sku : kinds::generated_skus(i)) {
      Product p;
      p.sku = sku;
      const auto k = static_cast<std::size_t>(sku / 150);
      p.brand = std::string(kBrands[k % kBrands.size()]);
      // "Contoso Pro Staplers 435700": one name per sku.
      p.name = *p.brand + " " + std::string(kLines[(k / kBrands.size()) % kLines.size()]) + " " +
               std::string(categories[i]) + " " + std::to_string(sku);
      p.category = std::string(categories[i]);
      p.list_price = kinds::generated_price(sku);
      out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace millrace::catalog
