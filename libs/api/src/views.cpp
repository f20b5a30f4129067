#include "views.hpp"

#include <array>
#include <stdexcept>
#include <vector>

#include "millrace/pg/views.hpp"

namespace millrace::api {

namespace {

using enum ColumnType;

constexpr Column kSales[] = {{"window_start", kTimestamp}, {"event_type", kText},
                             {"events", kInteger},         {"units", kInteger},
                             {"revenue", kNumeric},        {"discount_total", kNumeric},
                             {"returns", kInteger}};
constexpr Column kOrdersThisHour[] = {
    {"window_start", kTimestamp}, {"orders", kInteger}, {"revenue", kNumeric}};
constexpr Column kTodaySummary[] = {{"day", kTimestamp},
                                    {"orders", kInteger},
                                    {"revenue", kNumeric},
                                    {"units", kInteger},
                                    {"returns", kInteger}};
constexpr Column kTopProducts[] = {{"rank", kInteger},    {"sku", kInteger}, {"units", kInteger},
                                   {"revenue", kNumeric}, {"name", kText},   {"brand", kText}};
constexpr Column kPopularCategories[] = {{"category", kText},
                                         {"events", kInteger},
                                         {"units", kInteger},
                                         {"revenue", kNumeric},
                                         {"display_name", kText}};
constexpr Column kWebOrdersWindows[] = {
    {"window_start", kTimestamp}, {"orders", kInteger}, {"revenue", kNumeric}, {"units", kInteger}};
constexpr Column kWebOrdersToday[] = {
    {"day", kTimestamp}, {"orders", kInteger}, {"revenue", kNumeric}, {"units", kInteger}};
constexpr Column kWebOrdersTopProducts[] = {
    {"rank", kInteger},   {"product_id", kInteger}, {"units", kInteger}, {"revenue", kNumeric},
    {"orders", kInteger}, {"name", kText},          {"brand", kText}};
constexpr Column kWebOrdersCategories[] = {
    {"category", kText}, {"units", kInteger}, {"revenue", kNumeric}, {"display_name", kText}};
constexpr Column kAccounting[] = {
    {"group_id", kText},       {"topic", kText},          {"partition", kInteger},
    {"next_offset", kInteger}, {"consumed", kInteger},    {"persisted", kInteger},
    {"filtered", kInteger},    {"rejected", kInteger},    {"late", kInteger},
    {"duplicate", kInteger},   {"unaccounted", kInteger}, {"lost", kInteger},
    {"expired", kInteger}};

struct Shape {
  std::string_view name;
  std::span<const Column> columns;
  std::string_view order_by;
  bool windowed;
};
constexpr Shape kShapes[] = {
    {"hourly_sales", kSales, "window_start, event_type", true},
    {"daily_sales", kSales, "window_start, event_type", true},
    {"orders_this_hour", kOrdersThisHour, "window_start", false},
    {"today_summary", kTodaySummary, "day", false},
    {"top_products", kTopProducts, "rank", false},
    {"popular_categories", kPopularCategories, "units DESC, category", false},
    {"web_orders_hourly", kWebOrdersWindows, "window_start", true},
    {"web_orders_daily", kWebOrdersWindows, "window_start", true},
    {"web_orders_this_hour", kWebOrdersWindows, "window_start", false},
    {"web_orders_today", kWebOrdersToday, "day", false},
    {"web_orders_top_products", kWebOrdersTopProducts, "rank", false},
    {"web_orders_categories", kWebOrdersCategories, "units DESC, category", false},
};

// The descriptions are pg::public_views()'s, so `millrace views` and the
// API say the same; a view that one lists and the other does not is a bug
// caught at the first request (and by the unit tests).
std::vector<View> build() {
  std::vector<View> out;
  for (const auto& shape : kShapes) {
    const auto* info = pg::find_view(shape.name);
    if (info == nullptr) throw std::logic_error("pg does not know view " + std::string(shape.name));
    out.push_back({shape.name, info->description, shape.columns, shape.order_by, shape.windowed});
  }
  if (out.size() != pg::public_views().size()) {
    throw std::logic_error("millrace-api does not serve every public view");
  }
  return out;
}

}  // namespace

std::string_view type_name(ColumnType type) {
  switch (type) {
    case kTimestamp:
      return "timestamp";
    case kText:
      return "text";
    case kInteger:
      return "integer";
    case kNumeric:
      return "decimal";
  }
  return "text";
}

std::span<const View> public_views() {
  static const std::vector<View> views = build();
  return views;
}

const View* find_view(std::string_view name) {
  for (const auto& v : public_views()) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

const View& accounting_view() {
  static const View view{"partition_accounting",
                         "per consumer group and partition: consumed = persisted + filtered + "
                         "rejected + late + duplicate (+ lost), and what is unaccounted",
                         kAccounting, "group_id, topic, partition", false};
  return view;
}

}  // namespace millrace::api
