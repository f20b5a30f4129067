#include "views.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "millrace/kinds/registry.hpp"
#include "millrace/pg/kind_tables.hpp"
#include "query.hpp"

namespace millrace::api {

const View* ServedViews::find(std::string_view name) const {
  return pg::find_view(views, name);
}

namespace {

// A declared view's recent windows: the last 48 of a chart (each a hop
// apart), or, for a top N, the windows that may hold the newest, whose
// rows the page ranks. Started before the current UTC hour, or day for
// windows of days (a local day may have begun before the UTC one).
DashboardView declared_on_dashboard(const kinds::Declaration& d, const std::string& name) {
  const auto it = std::find_if(d.views.begin(), d.views.end(),
                               [&](const kinds::ViewDecl& v) { return v.name == name; });
  if (it == d.views.end()) throw std::logic_error("no declared view " + name);
  const auto us = [](std::chrono::minutes m) { return m.count() * 60'000'000LL; };
  const auto& w = it->window;
  const bool by_day = us(w.hop) >= kDayUs;
  const std::int64_t period = by_day ? kDayUs : kHourUs;
  const std::int64_t back = it->top ? us(w.size) + period : 47 * us(w.hop) + us(w.size);
  return {name, kMaxLimit, back, by_day};
}

}  // namespace

std::shared_ptr<const ServedViews> serve_views(const std::vector<kinds::Declaration>& kinds) {
  auto out = std::make_shared<ServedViews>();
  out->views = pg::public_views(kinds);
  // The last 48 hours and the last 30 days, this hour and today included.
  out->dashboard = {{"today_summary", 10, {}, false},
                    {"orders_this_hour", 10, {}, false},
                    {"hourly_sales", 1000, 47 * kHourUs, false},
                    {"daily_sales", 1000, 29 * kDayUs, true},
                    {"top_products", 10, {}, false},
                    {"popular_categories", 100, {}, false}};
  // The store event's agg_hourly and the other tables its views adopt
  // come with its declaration's (kind_table_names()).
  out->tables = {"categories", "products"};
  for (const auto& d : kinds) {
    for (const auto& v : pg::kind_views(d)) {
      switch (v.grain) {
        case pg::ViewGrain::kThisHour:
        case pg::ViewGrain::kToday:
        case pg::ViewGrain::kTopProducts:
          out->dashboard.push_back({v.name, 10, {}, false});
          break;
        case pg::ViewGrain::kCategories:
          out->dashboard.push_back({v.name, 100, {}, false});
          break;
        case pg::ViewGrain::kDeclared:
          out->dashboard.push_back(declared_on_dashboard(d, v.name));
          break;
        default:
          break;
      }
    }
    auto tables = pg::kind_table_names(d);
    for (auto& t : tables.sums) out->tables.push_back(std::move(t));
    for (auto& t : tables.views) out->tables.push_back(std::move(t));
  }
  return out;
}

std::shared_ptr<const ServedViews> built_in_views() {
  static const auto views = serve_views(kinds::all_kinds(""));
  return views;
}

const View& accounting_view() {
  using enum pg::ColumnKind;
  static const View view{"partition_accounting",
                         "per consumer group and partition: consumed = persisted + filtered + "
                         "rejected + late + duplicate (+ lost), and what is unaccounted",
                         {{"group_id", kText},
                          {"topic", kText},
                          {"partition", kInteger},
                          {"next_offset", kInteger},
                          {"consumed", kInteger},
                          {"persisted", kInteger},
                          {"filtered", kInteger},
                          {"rejected", kInteger},
                          {"late", kInteger},
                          {"duplicate", kInteger},
                          {"unaccounted", kInteger},
                          {"lost", kInteger},
                          {"expired", kInteger}},
                         "group_id, topic, partition",
                         false,
                         "",
                         pg::ViewGrain::kOther,
                         {}};
  return view;
}

}  // namespace millrace::api
