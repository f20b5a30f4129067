#pragma once

// What the filter tests share: a test event's attributes, whether a filter takes an event, and
// the filters and change events they are written with.

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "exact_json.hpp"
#include "filter.hpp"

namespace millrace::webhooks::testing {

// The CloudEvents attributes of a test event; data is given per call.
struct Attributes {
  std::string id = "0000000001A2B3C4-00000002";
  std::string source = "/millrace/shop/public.store_events";
  std::string type = "com.millrace.row.created";
  std::string subject = "public.store_events/42";
  std::string time = "2026-11-28T07:00:01.123456Z";
};

// Whether `f` takes an event whose data is `data` (JSON, or "" for none), read as routing
// reads a change: numbers as numbers, exact (exact_json.hpp).
inline bool takes(const detail::Filter& f, std::string_view data, const Attributes& a = {}) {
  rapidjson::Document d;
  if (!data.empty()) REQUIRE(millrace::webhooks::detail::parse_exact(d, data));
  const detail::FilterEvent e{a.id,      a.source, a.type,
                              a.subject, a.time,   data.empty() ? nullptr : &d};
  return f.matches(e);
}

inline bool takes(std::string_view filter, std::string_view data, const Attributes& a = {}) {
  return takes(detail::Filter::parse(filter), data, a);
}

// A filter of one advanced filter.
inline std::string one(std::string_view op, std::string_view key, std::string_view rest,
                       bool arrays = false) {
  std::string f = R"({"advancedFilters":[{"operatorType":")" + std::string(op) + R"(","key":")" +
                  std::string(key) + "\"";
  if (!rest.empty()) f += "," + std::string(rest);
  f += "}]";
  if (arrays) f += R"(,"enableAdvancedFilteringOnArrays":true)";
  return f + "}";
}

// A Millrace change event around `after`.
inline std::string change(std::string_view after) {
  return R"({"table":"public.store_events","op":"c","after":)" + std::string(after) + "}";
}

}  // namespace millrace::webhooks::testing
