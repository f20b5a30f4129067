#pragma once

// What filter_parse.cpp, filter_match.cpp and filter_canonical.cpp share of
// Event Grid's filters (filter.hpp): its operators and what each takes, the
// keys a Millrace event has, and Event Grid's limits.

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

#include "filter.hpp"

namespace millrace::webhooks::detail {

// Named, not anonymous: the library is a unity build, and these names must not meet another
// source's file-local ones.
namespace event_grid_filter {

using Op = Filter::Op;
using Attribute = Filter::Attribute;
using Decimal = Filter::Decimal;
using Advanced = Filter::Advanced;

inline constexpr std::size_t kMaxAdvancedFilters = 25;  // [F] Limitations
inline constexpr std::size_t kMaxFilterValues = 25;     // across all advanced filters [F]
inline constexpr std::size_t kMaxStringLength = 512;    // characters per string value [F]

// What an operator compares, which says what it takes.
enum class Takes { kNumber, kNumbers, kRanges, kBool, kStrings, kNothing };

struct OpInfo {
  std::string_view name;
  Op op;
  Takes takes;
  bool negated;
};

inline constexpr std::array<OpInfo, 19> kOps = {{
    {"NumberIn", Op::kNumberIn, Takes::kNumbers, false},
    {"NumberNotIn", Op::kNumberNotIn, Takes::kNumbers, true},
    {"NumberLessThan", Op::kNumberLessThan, Takes::kNumber, false},
    {"NumberGreaterThan", Op::kNumberGreaterThan, Takes::kNumber, false},
    {"NumberLessThanOrEquals", Op::kNumberLessThanOrEquals, Takes::kNumber, false},
    {"NumberGreaterThanOrEquals", Op::kNumberGreaterThanOrEquals, Takes::kNumber, false},
    {"NumberInRange", Op::kNumberInRange, Takes::kRanges, false},
    {"NumberNotInRange", Op::kNumberNotInRange, Takes::kRanges, true},
    {"BoolEquals", Op::kBoolEquals, Takes::kBool, false},
    {"StringIn", Op::kStringIn, Takes::kStrings, false},
    {"StringNotIn", Op::kStringNotIn, Takes::kStrings, true},
    {"StringBeginsWith", Op::kStringBeginsWith, Takes::kStrings, false},
    {"StringNotBeginsWith", Op::kStringNotBeginsWith, Takes::kStrings, true},
    {"StringEndsWith", Op::kStringEndsWith, Takes::kStrings, false},
    {"StringNotEndsWith", Op::kStringNotEndsWith, Takes::kStrings, true},
    {"StringContains", Op::kStringContains, Takes::kStrings, false},
    {"StringNotContains", Op::kStringNotContains, Takes::kStrings, true},
    {"IsNullOrUndefined", Op::kIsNullOrUndefined, Takes::kNothing, false},
    {"IsNotNull", Op::kIsNotNull, Takes::kNothing, false},
}};

constexpr bool ops_in_order() {
  for (std::size_t i = 0; i < kOps.size(); ++i) {
    if (static_cast<std::size_t>(kOps[i].op) != i) return false;
  }
  return true;
}
static_assert(ops_in_order(), "kOps is indexed by Op");

inline const OpInfo& info(Op op) {
  return kOps[static_cast<std::size_t>(op)];
}

struct AttributeName {
  std::string_view name;  // lower case
  Attribute attribute;
};

// CloudEvents names first: the first name of an attribute is the one canonical_json() prints.
inline constexpr std::array<AttributeName, 9> kAttributes = {{
    {"id", Attribute::kId},
    {"source", Attribute::kSource},
    {"type", Attribute::kType},
    {"subject", Attribute::kSubject},
    {"time", Attribute::kTime},
    {"data", Attribute::kData},
    {"eventtype", Attribute::kType},
    {"eventtime", Attribute::kTime},
    {"topic", Attribute::kSource},
}};

inline std::string_view canonical_name(Attribute a) {
  for (const auto& n : kAttributes) {
    if (n.attribute == a) return n.name;
  }
  return {};
}

inline char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Names (of members, attributes, operators) compare without regard to ASCII case.
inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

}  // namespace event_grid_filter

}  // namespace millrace::webhooks::detail
