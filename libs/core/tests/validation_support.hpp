#pragma once

// What the validation tests share: parse a payload that must be accepted, or
// must be refused, and fail with what happened otherwise.

#include <catch2/catch.hpp>
#include <optional>
#include <string_view>
#include <variant>

#include "millrace/reference/validation.hpp"

namespace millrace::core::testing {

inline constexpr std::string_view kSale = "sale_event";

inline StoreEvent accept(std::string_view payload,
                         std::optional<std::string_view> header = std::string_view("sale_event")) {
  INFO("payload: " << payload);
  auto result = parse_event(payload, header);
  if (auto* rejection = std::get_if<Rejection>(&result)) {
    FAIL("rejected: " << reason_code(rejection->reason) << " [" << rejection->field << "] "
                      << rejection->detail);
  }
  return std::get<StoreEvent>(std::move(result));
}

inline Rejection reject(std::string_view payload,
                        std::optional<std::string_view> header = std::string_view("sale_event")) {
  INFO("payload: " << payload);
  auto result = parse_event(payload, header);
  REQUIRE(std::holds_alternative<Rejection>(result));
  return std::get<Rejection>(std::move(result));
}

}  // namespace millrace::core::testing
