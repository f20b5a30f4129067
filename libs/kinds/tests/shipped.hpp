#pragma once

// The declarations that ship (proto/kinds), parsed once per test binary.

#include <optional>
#include <string>
#include <string_view>

#include "millrace/core/store_message.hpp"
#include "millrace/kinds/registry.hpp"

namespace millrace::kinds::testing {

inline const Declaration& order() {
  static const Declaration d = find_kind("order", "");
  return d;
}

inline const Declaration& store_event() {
  static const Declaration d = find_kind("store_event", "");
  return d;
}

inline const Declaration& trade() {
  static const Declaration d = find_kind("trade", "");
  return d;
}

// The event_type header a message of `d` would travel with when `d` reads
// one (a type_header): the type its body repeats, when it names one of
// the type's values, else the first value.
inline std::optional<std::string_view> type_header_of(const Declaration& d,
                                                      std::string_view payload) {
  if (!d.type_header) return std::nullopt;
  const auto& f = d.fields[*d.type_header];
  for (const auto& v : f.values) {
    if (payload.find("\"" + v + "\"") != std::string_view::npos) return v;
  }
  return f.values.front();
}

// The header `millrace produce` sends a generated message of `d` with: the
// body's own event_type, read leniently (core::routing_hint), or none.
inline std::optional<std::string> produced_header_of(const Declaration& d,
                                                     std::string_view payload) {
  if (!d.type_header) return std::nullopt;
  return core::routing_hint(payload).raw_event_type;
}

}  // namespace millrace::kinds::testing
