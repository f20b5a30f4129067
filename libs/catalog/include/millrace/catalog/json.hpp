#pragma once

// The catalog's JSON representation: what millrace-api serves for a
// category, a product and the list of categories, and what the cache stores
// (so a cache hit is served as stored, without parsing). One renderer for
// both sources of a row: PostgreSQL's text output of a SELECT, and a change
// record's `after` (proto/change.schema.json) turned into the same text by
// change_values(). Pure.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace millrace::catalog {

// A row as column -> PostgreSQL's text output (nullopt: NULL). Booleans are
// "t"/"f", numbers their literal, timestamptz as PostgreSQL prints it in
// the ISO DateStyle with any TimeZone (the offset is applied).
using RowText = std::map<std::string, std::optional<std::string>, std::less<>>;

// {"name","display_name","description"(null),"active","updated_at"} with
// updated_at in RFC 3339 UTC ("...Z", microseconds). Throws
// std::invalid_argument naming the column when a required column is missing
// or a value is not of its type (a schema this build does not know).
std::string category_json(const RowText& row);
// {"sku","name","brand"(null),"category","list_price","active","updated_at"};
// list_price a JSON number with the stored digits ("12.50" stays 12.50).
std::string product_json(const RowText& row);
// {"symbol","description","type","currency","display_symbol","updated_at"},
// each but the symbol and updated_at possibly null.
std::string asset_json(const RowText& row);
// {"categories":[<item>,...]}: the bodies as given, in order.
std::string category_list_json(const std::vector<std::string>& items);

// A change record's row object (`after`, or `key`) as RowText: JSON
// booleans become "t"/"f", numbers keep their literal, strings their text,
// null nullopt. A string saying what is wrong when `row_json` is not an
// object of scalars.
std::variant<RowText, std::string> change_values(std::string_view row_json);

}  // namespace millrace::catalog
