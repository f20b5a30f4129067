#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "millrace/reference/contract.hpp"

namespace millrace::core::detail {

// The field names, in contract order (core/contract.hpp).
inline constexpr std::array<std::string_view, kFieldCount> kFieldNames = [] {
  std::array<std::string_view, kFieldCount> names{};
  for (std::size_t i = 0; i < kFieldCount; ++i) names[i] = kStoreEventFields[i].name;
  return names;
}();

// Every member of every event is looked up here. A scan of all the names
// compared about half of them per key, which showed in profiles under NDJSON
// load; grouped by length, a key meets at most kMaxSameLength names.
inline constexpr std::size_t kMaxSameLength = 4;

struct FieldsByLength {
  static constexpr std::size_t kLongest = 17;  // "priority_shipping"
  std::array<std::array<std::int8_t, kMaxSameLength>, kLongest + 1> fields{};
  std::array<std::uint8_t, kLongest + 1> count{};
};

constexpr FieldsByLength make_fields_by_length() {
  FieldsByLength by;
  for (int i = 0; i < kFieldCount; ++i) {
    const std::size_t len = kFieldNames[static_cast<std::size_t>(i)].size();
    // Not a constant expression, so a name that breaks the bounds fails the build.
    if (len > FieldsByLength::kLongest || by.count[len] == kMaxSameLength) throw "field name table";
    by.fields[len][by.count[len]++] = static_cast<std::int8_t>(i);
  }
  return by;
}

inline constexpr FieldsByLength kFieldsByLength = make_fields_by_length();

// The field a top-level key names, or -1 for a key the contract does not know.
inline int field_index(std::string_view key) {
  if (key.size() > FieldsByLength::kLongest) return -1;
  const auto& candidates = kFieldsByLength.fields[key.size()];
  for (std::uint8_t c = 0; c < kFieldsByLength.count[key.size()]; ++c) {
    const int i = candidates[c];
    const char* name = kFieldNames[static_cast<std::size_t>(i)].data();
    // Names of one length differ in their first byte but for store_id and
    // store_ip: checking it first saves most calls to memcmp.
    if (name[0] == key[0] && std::memcmp(name, key.data(), key.size()) == 0) return i;
  }
  return -1;
}

}  // namespace millrace::core::detail
