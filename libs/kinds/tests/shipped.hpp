#pragma once

// The declarations that ship (proto/kinds), parsed once per test binary.

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

}  // namespace millrace::kinds::testing
