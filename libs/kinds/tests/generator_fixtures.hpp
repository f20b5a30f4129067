#pragma once

// What the generator tests share: the options they generate with, a base
// time a day of records leads up to, and the checks of a generated record:
// a good one accepted, a bad one refused as the generator says.

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "millrace/core/rejection.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/generator.hpp"
#include "millrace/kinds/record.hpp"
#include "shipped.hpp"

namespace millrace::kinds::testing {

inline constexpr core::TimestampUs kBase = 1'717'243'200'000'000;  // 2024-06-01T12:00:00Z
inline constexpr std::int64_t kDayUs = 24LL * 3600 * 1'000'000;

inline RecordGeneratorOptions options(std::uint64_t seed, double bad_ratio = 0.0) {
  RecordGeneratorOptions o;
  o.seed = seed;
  o.bad_ratio = bad_ratio;
  o.base_ts = kBase;
  o.time_spread_us = kDayUs;
  return o;
}

inline Record accept(const Declaration& d, const GeneratedRecord& g) {
  INFO("payload: " << g.payload);
  auto result = parse_record(d, g.payload, millrace::kinds::testing::type_header_of(d, g.payload));
  if (const auto* r = std::get_if<core::Rejection>(&result)) {
    FAIL("rejected: " << core::reason_code(r->reason) << " [" << r->field << "] " << r->detail);
  }
  return std::get<Record>(std::move(result));
}

// Checks that a bad record is refused exactly as the generator says it
// will be; returns the reason.
inline core::RejectReason check_bad(const Declaration& d, const GeneratedRecord& g) {
  INFO("payload: " << g.payload);
  REQUIRE(g.expected.has_value());
  const auto result =
      parse_record(d, g.payload, millrace::kinds::testing::produced_header_of(d, g.payload));
  REQUIRE(std::holds_alternative<core::Rejection>(result));
  const auto& r = std::get<core::Rejection>(result);
  INFO("detail: " << r.detail);
  CHECK(core::reason_code(r.reason) == core::reason_code(*g.expected));
  if (!g.bad_field.empty()) {
    CHECK(r.field == g.bad_field);
  } else {
    // Only JSON cut short and the type's header name no field.
    CHECK((*g.expected == core::RejectReason::kInvalidJson ||
           *g.expected == core::RejectReason::kMissingEventType ||
           *g.expected == core::RejectReason::kUnknownEventType));
    CHECK(r.field.empty());
  }
  return *g.expected;
}

inline const Value& at(const Declaration& d, const Record& r, std::string_view name) {
  const auto i = d.find(name);
  INFO("field: " << name);
  REQUIRE(i.has_value());
  return r.values[*i];
}

inline bool is_lower_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

}  // namespace millrace::kinds::testing
