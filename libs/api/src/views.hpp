#pragma once

// What millrace-api serves of the analytics views: the public views of the
// kinds it loaded (pg::public_views: the store event's and every declared
// kind's with an aggregate section, described from its declaration), with
// their columns and types fixed from there rather than read from the
// database, so that the OpenAPI description, the SQL and the JSON types
// cannot drift apart silently (integration.api compares these lists with
// information_schema).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/kinds/declaration.hpp"
#include "millrace/pg/views.hpp"

namespace millrace::api {

using ColumnType = pg::ColumnKind;
using Column = pg::ViewColumn;
using View = pg::ViewInfo;
using pg::type_name;

inline constexpr std::int64_t kHourUs = 3'600'000'000LL;
inline constexpr std::int64_t kDayUs = 24 * kHourUs;

// A view the dashboard shows (GET /v1/stream): its body is GET
// /v1/views/{name}?limit=<limit>, and for a windowed one from=<back>
// before the start of the current UTC hour (or day, when by_day).
struct DashboardView {
  std::string name;
  std::int64_t limit = 10;
  std::optional<std::int64_t> back_us;
  bool by_day = false;
};

struct ServedViews {
  std::vector<View> views;  // pg::public_views(), in that order
  std::vector<DashboardView> dashboard;
  // The tables ("name", of the served schema) whose changes may change a
  // dashboard view: the aggregates and the catalog.
  std::vector<std::string> tables;

  const View* find(std::string_view name) const;
};

// The views of the store event and of `kinds` (kinds::all_kinds()): on the
// dashboard, the store event's six, and each kind's this hour, today and,
// when its lines name a product, its top products and categories, then its
// declared views' recent windows (all their rows, up to kMaxLimit).
std::shared_ptr<const ServedViews> serve_views(const std::vector<kinds::Declaration>& kinds);
// The built-in kinds' (no MILLRACE_KINDS_DIR).
std::shared_ptr<const ServedViews> built_in_views();

// partition_accounting, served at /v1/accounting.
const View& accounting_view();

}  // namespace millrace::api
