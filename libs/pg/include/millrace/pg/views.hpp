#pragma once

// The public views (docs/views.md), a stable interface: the store event's,
// and those every kind with an aggregate section gets (kinds::AggregateDecl),
// each described here from its declaration alone: its name, what it holds,
// its columns and their types, its order and whether it is windowed.
// `millrace views`, millrace-api (its routes, its OpenAPI description, its
// dashboard) and the grants read this list, so a kind an operator declares
// is served with no code. The SQL that makes a kind's views is
// kind_tables.cpp's; the unit tests hold the two to the same columns.

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/kinds/declaration.hpp"

namespace millrace::pg {

enum class ColumnKind : std::uint8_t { kTimestamp, kText, kInteger, kNumeric };
// The type as /v1/views lists it: timestamp, text, integer or decimal.
std::string_view type_name(ColumnKind type);

struct ViewColumn {
  std::string name;
  ColumnKind type = ColumnKind::kText;
  bool nullable = false;  // NULL: the catalog does not know the product, a ratio per 0
};

// What a kind's view shows, by the suffix of its name (<aggregate>_today).
enum class ViewGrain : std::uint8_t {
  kOther,  // the store event's own views
  kHourly,
  kDaily,
  kThisHour,
  kToday,
  kTopProducts,
  kCategories,
  kDeclared,  // a view the declaration lists ("views")
};

struct ViewInfo {
  std::string name;  // the PostgreSQL view
  std::string description;
  std::vector<ViewColumn> columns;
  std::string order_by;   // a total order, so a limit cuts the same rows every time
  bool windowed = false;  // from/to apply to window_start
  std::string kind;       // the event kind it sums: "store_event", "order", ...
  ViewGrain grain = ViewGrain::kOther;
  // Columns a reader may filter on by value (a declared view's groups:
  // /v1/views/<name>?store_id=3).
  std::vector<std::string> dimensions;
};

// The views of one kind's aggregate section, in the order above (hourly,
// daily, this hour, today, and, when its lines name a product, top products
// and categories; none without an aggregate section), then its declared
// views (kinds::ViewDecl, declared_views.hpp), in their order.
std::vector<ViewInfo> kind_views(const kinds::Declaration& d);
std::vector<ViewInfo> aggregate_views(const kinds::Declaration& d);

// The store event's views, then those of every kind in `kinds` with an
// aggregate section (kinds::all_kinds(), in its order).
std::vector<ViewInfo> public_views(const std::vector<kinds::Declaration>& kinds);
const ViewInfo* find_view(const std::vector<ViewInfo>& views, std::string_view name);

// A result as text, NULL as nullopt; numbers keep PostgreSQL's exact text.
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

// Reads one public view, all of its rows, in its order.
Table read_view(pqxx::connection& connection, const ViewInfo& view);

enum class Format { kTable, kJson, kCsv };
std::optional<Format> parse_format(std::string_view text);

// Aligned text like psql's; JSON: an array of objects with numbers unquoted
// (exact, as PostgreSQL printed them); CSV per RFC 4180 with a header line.
std::string render(const Table& table, Format format);

}  // namespace millrace::pg
