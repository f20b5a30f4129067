#pragma once

// What millrace-api serves of the analytics views: their columns and types,
// fixed here rather than read from the database so that the OpenAPI
// description, the SQL and the JSON types cannot drift apart silently
// (integration.api compares these lists with information_schema).

#include <cstdint>
#include <span>
#include <string_view>

namespace millrace::api {

enum class ColumnType : std::uint8_t { kTimestamp, kText, kInteger, kNumeric };
// The type as /v1/views lists it: timestamp, text, integer or decimal.
std::string_view type_name(ColumnType type);

struct Column {
  std::string_view name;
  ColumnType type;
};

struct View {
  std::string_view name;  // the PostgreSQL view
  std::string_view description;
  std::span<const Column> columns;
  std::string_view order_by;  // a total order, so a limit cuts the same rows every time
  bool windowed;              // from/to apply to window_start
};

// The public views (pg::public_views(), docs/views.md), in that order.
std::span<const View> public_views();
const View* find_view(std::string_view name);
// partition_accounting, served at /v1/accounting.
const View& accounting_view();

}  // namespace millrace::api
