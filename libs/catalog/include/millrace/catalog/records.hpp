#pragma once

// The reference catalog: categories (keyed by the name the store events
// carry) and products (keyed by sku), as the tables of migration 0006 hold
// them, and assets (keyed by the symbol trades carry, migration 0020), and
// the rules a loaded line must meet to become one. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "millrace/core/decimal.hpp"

namespace millrace::catalog {

enum class Table { kCategories, kProducts, kAssets };
std::string_view table_name(Table table);
// "categories", "products" or "assets"; nullopt otherwise.
std::optional<Table> parse_table(std::string_view name);

struct Category {
  std::string name;  // the key: what events carry in "category"
  std::string display_name;
  std::optional<std::string> description;
  bool active = true;
};

struct Product {
  std::int64_t sku = 0;  // the key
  std::string name;
  std::optional<std::string> brand;
  std::string category;      // a Category's name
  core::Decimal list_price;  // at most two decimals, 0 .. 9,999,999,999.99
  bool active = true;
};

// A market's instrument, as market-data REST APIs list them (Finnhub's
// /stock/symbol and /crypto/symbol): every member but the key is optional.
struct Asset {
  std::string symbol;  // the key: what trades carry in "Symbol"
  std::optional<std::string> description;
  std::optional<std::string> type;  // "Common Stock", "ETP", ...
  std::optional<std::string> currency;
  std::optional<std::string> display_symbol;
};

using Record = std::variant<Category, Product, Asset>;

// One input line (or CSV record) as named fields; nullopt for a JSON null or
// an empty CSV field. Values are text: NDJSON numbers keep their literal.
using Fields = std::vector<std::pair<std::string, std::optional<std::string>>>;

// The columns of each table, in their order: what a CSV header may name and
// an NDJSON object may hold.
const std::vector<std::string_view>& columns(Table table);

// Whether a field that is not a column is ignored rather than refused:
// assets', whose sources are other parties' APIs (Finnhub adds figi, mic,
// isin, ...): their contract is theirs, and never made stricter here.
bool ignores_unknown_fields(Table table);

// The table whose key column `fields` names ("sku": products, else
// "symbol": assets, else "name": categories); nullopt when none.
std::optional<Table> infer_table(const std::vector<std::string>& names);

// Builds a record of `table` from `fields`, or says why not in one line that
// names the field (an unknown field, unless ignores_unknown_fields(), a
// required one missing, a value of the wrong form, text that is not UTF-8
// or too long).
std::variant<Record, std::string> make_record(Table table, const Fields& fields);

}  // namespace millrace::catalog
