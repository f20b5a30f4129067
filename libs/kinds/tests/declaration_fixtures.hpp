#pragma once

// What the declaration and registry tests share: a small valid declaration
// (kWidget) and its one-place breakages, the refusals they get, and a
// directory of the test's own.

#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/core/decimal.hpp"
#include "millrace/core/options.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/registry.hpp"

namespace millrace::kinds::testing {

// A directory of the test's own under /tmp, removed with everything in it.
struct TempDir {
  TempDir() {
    std::string name = "/tmp/millrace-kinds-XXXXXX";
    const char* made = ::mkdtemp(name.data());
    REQUIRE(made != nullptr);
    path = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  void write(const std::string& file, std::string_view text) const {
    std::ofstream out(path / file, std::ios::binary);
    out << text;
    REQUIRE(out.good());
  }
  std::string dir() const { return path.string(); }

  std::filesystem::path path;
};

// A small valid declaration; each refusal below breaks it in one place.
inline constexpr std::string_view kWidget = R"({
  "$comment": "a test kind",
  "kind": "widget",
  "description": "A widget with its parts",
  "topic": {"name": "widgets", "env": "MILLRACE_WIDGETS_TOPIC", "partitions": 2},
  "table": "widgets",
  "identity": "Id",
  "time": "At",
  "fields": [
    {"name": "Id", "column": "id", "type": "text", "required": true, "max_bytes": 40},
    {"name": "At", "column": "at", "type": "timestamp", "required": true},
    {"name": "Count", "column": "count", "type": "integer", "min": 0, "max": 10},
    {"name": "Total", "column": "total", "type": "decimal", "required": true, "min": 0, "max": 1000,
     "generate": {"sum_of_lines": ["Qty", "Price"]}},
    {"name": "Note", "column": "note", "type": "text"},
    {"name": "Owner", "column": "owner", "type": "text", "pii": true}
  ],
  "lines": {
    "name": "Parts",
    "table": "widget_parts",
    "number_column": "part_no",
    "min_items": 1,
    "max_items": 20,
    "fields": [
      {"name": "Owner", "column": "owner", "type": "text", "required": true,
       "generate": {"copy_of": "Owner"}},
      {"name": "Qty", "column": "qty", "type": "integer", "required": true, "min": 1, "max": 9},
      {"name": "Price", "column": "price", "type": "decimal", "required": true, "min": 0,
       "max": 50, "generate": {"range": [1, 2.5]}}
    ]
  }
})";

// kWidget with `from` (which must occur exactly once) replaced by `to`.
inline std::string widget_with(std::string_view from, std::string_view to) {
  std::string text(kWidget);
  const auto at = text.find(from);
  INFO("replacing: " << from);
  REQUIRE(at != std::string::npos);
  REQUIRE(text.find(from, at + 1) == std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

// The message of the UsageError parsing `json` throws; fails if none is.
inline std::string refusal(std::string_view json, std::string_view origin = "test widget") {
  INFO("declaration: " << json);
  try {
    parse_declaration(json, origin);
  } catch (const core::UsageError& e) {
    return e.what();
  }
  FAIL("the declaration was accepted");
  return {};
}

inline std::string find_kind_refusal(std::string_view kind, const std::string& dir) {
  try {
    find_kind(kind, dir);
  } catch (const core::UsageError& e) {
    return e.what();
  }
  FAIL("find_kind(\"" << kind << "\", \"" << dir << "\") succeeded");
  return {};
}

inline const FieldDecl& field(const std::vector<FieldDecl>& fields, std::string_view name) {
  const auto it = std::find_if(fields.begin(), fields.end(),
                               [&](const FieldDecl& f) { return f.name == name; });
  INFO("field: " << name);
  REQUIRE(it != fields.end());
  return *it;
}

inline core::Decimal dec(std::string_view literal) {
  const auto d = core::Decimal::parse(literal);
  INFO("literal: " << literal);
  REQUIRE(d.has_value());
  return *d;
}

}  // namespace millrace::kinds::testing
