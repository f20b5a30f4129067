#pragma once

// A change record of the catalog tables (proto/change.schema.json) read
// into the cache entries it decides. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "millrace/catalog/records.hpp"

namespace millrace::cache::detail {

// The entries' keys within a generation.
std::string category_key(std::string_view name);
std::string product_key(std::string_view sku);
std::string asset_key(std::string_view symbol);
// The key of `table`'s row whose key column holds `key`.
std::string entry_key(catalog::Table table, std::string_view key);
inline constexpr std::string_view kCategoriesKey = "categories";

struct CatalogChange {
  // kGap: the feed lost changes of the table (op g): like a truncate, the
  // cache no longer knows it and is rebuilt from PostgreSQL.
  enum class Op : std::uint8_t { kUpsert, kDelete, kTruncate, kGap };
  Op op = Op::kUpsert;
  catalog::Table table = catalog::Table::kCategories;
  std::string id;                         // the entry version
  std::uint32_t xid = 0;                  // 0: a row of the feed's own snapshot
  std::optional<std::int64_t> commit_us;  // the transaction's commit time
  std::string name;                       // the row's key column (name, sku or symbol)
  std::optional<std::string> old_name;    // an update that changed the key: the previous one
  std::optional<std::string> body;        // kUpsert: catalog/json.hpp's rendering
};

// Whether a record's Kafka key names `schema`'s categories, products or
// assets: a cheap test before parsing, since the feed carries every
// published table (the key starts {"table":"schema.table", as the feed
// writes it).
bool may_be_catalog(std::optional<std::string_view> kafka_key, std::string_view schema);

struct NotCatalog {};
// nullopt-like NotCatalog for a change of another table; a string saying
// what is wrong when the record is not a usable change.
std::variant<NotCatalog, CatalogChange, std::string> read_change(std::string_view value,
                                                                 std::string_view schema);

}  // namespace millrace::cache::detail
