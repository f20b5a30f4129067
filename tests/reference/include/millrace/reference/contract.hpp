#pragma once

// The store event's fields, defined once, in its declaration
// (proto/kinds/store_event.json) and generated from it at build time
// (cmake/store_event_contract.cmake, MILLRACE_STORE_EVENT_FIELDS): each row
// below names a field, its type, bounds and whether it is required, and
// binds it to its StoreEvent member. Validation, the JSON and COPY encodings
// and the generator walk this table and reach each value through that
// member, so none of them lists the fields again. Tests check it against
// proto/store_event.schema.json and against the store_events columns the
// migrations create; proto/README.md says how to add a field.

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "millrace/core/overloaded.hpp"
#include "millrace/reference/store_event.hpp"

namespace millrace::core {

// In contract order: validation checks the fields in this order and reports
// the first failure.
enum Field : int {
#define MILLRACE_STORE_EVENT_ENUMERATOR(enumerator, name, member, field_type, required, min, max, \
                                        initial)                                                  \
  enumerator,
  MILLRACE_STORE_EVENT_FIELDS(MILLRACE_STORE_EVENT_ENUMERATOR)
#undef MILLRACE_STORE_EVENT_ENUMERATOR
      kFieldCount,
};

enum class FieldType : std::uint8_t {
  kUuid,      // text, canonical 8-4-4-4-12 hex; stored lowercase
  kText,      // UTF-8, 1..kMaxTextBytes bytes, no U+0000
  kFreeText,  // UTF-8 of any length, no U+0000; null allowed (an unbounded column)
  kIp,        // textual IPv4 or IPv6 address
  kInteger,   // a JSON integer within [min, max]
  kDecimal,   // a JSON number within [min, max], kept exactly
  kBoolean,
  kTimestamp,  // RFC 3339 text; UTC when it has no offset
  kEventType,  // sale_event or inventory_event
};

inline constexpr std::size_t kMaxTextBytes = 255;

// Where a field's value lives in a StoreEvent. The member's C++ type must
// suit the FieldType (checked at compile time below).
using FieldMember =
    std::variant<std::string StoreEvent::*, std::int32_t StoreEvent::*, std::int64_t StoreEvent::*,
                 Decimal StoreEvent::*, bool StoreEvent::*,
                 std::optional<std::string> StoreEvent::*, EventType StoreEvent::*>;

struct FieldSpec {
  std::string_view name;  // the JSON member, and the store_events column
  FieldMember member;
  FieldType type;
  bool required;
  // Bounds of an integer or decimal value (inclusive); unused otherwise.
  std::int64_t min = 0;
  std::int64_t max = 0;
};

inline constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
inline constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

// The event_type field travels in the event_type Kafka header; a body may
// repeat it, and must then agree.
inline constexpr std::array<FieldSpec, kFieldCount> kStoreEventFields = {{
#define MILLRACE_STORE_EVENT_SPEC(enumerator, name, member, field_type, required, min, max, \
                                  initial)                                                  \
  {#name, &StoreEvent::name, FieldType::field_type, required, min, max},
    MILLRACE_STORE_EVENT_FIELDS(MILLRACE_STORE_EVENT_SPEC)
#undef MILLRACE_STORE_EVENT_SPEC
}};

constexpr const FieldSpec& spec(Field f) {
  return kStoreEventFields[static_cast<std::size_t>(f)];
}
constexpr std::string_view field_name(Field f) {
  return spec(f).name;
}

// The fields a body must have (all but contact_me and event_type).
constexpr std::size_t required_count() {
  std::size_t n = 0;
  for (const auto& f : kStoreEventFields) n += f.required ? 1 : 0;
  return n;
}
constexpr std::array<std::string_view, required_count()> required_names() {
  std::array<std::string_view, required_count()> out{};
  std::size_t i = 0;
  for (const auto& f : kStoreEventFields) {
    if (f.required) out[i++] = f.name;
  }
  return out;
}

// The member a field type needs: text types a std::string, integers a
// 32- or 64-bit integer (the bounds must fit it), and so on.
constexpr bool member_suits(const FieldSpec& f) {
  switch (f.type) {
    case FieldType::kUuid:
    case FieldType::kText:
    case FieldType::kIp:
      return std::holds_alternative<std::string StoreEvent::*>(f.member);
    case FieldType::kFreeText:
      return std::holds_alternative<std::optional<std::string> StoreEvent::*>(f.member);
    case FieldType::kInteger:
      return (std::holds_alternative<std::int32_t StoreEvent::*>(f.member) && f.max <= kInt32Max) ||
             std::holds_alternative<std::int64_t StoreEvent::*>(f.member);
    case FieldType::kDecimal:
      return std::holds_alternative<Decimal StoreEvent::*>(f.member);
    case FieldType::kBoolean:
      return std::holds_alternative<bool StoreEvent::*>(f.member);
    case FieldType::kTimestamp:
      return std::holds_alternative<TimestampUs StoreEvent::*>(f.member);
    case FieldType::kEventType:
      return std::holds_alternative<EventType StoreEvent::*>(f.member);
  }
  return false;
}
constexpr bool members_suit_types() {
  for (const auto& f : kStoreEventFields) {
    if (!member_suits(f)) return false;
  }
  return true;
}
static_assert(members_suit_types(), "a field's StoreEvent member does not suit its FieldType");

// The value of `field` in `event`, when its member is a T (members_suit_types
// guarantees which T each FieldType has).
template <typename T, typename Event>
auto& member_of(Event& event, const FieldSpec& field) {
  return event.*(*std::get_if<T StoreEvent::*>(&field.member));
}

// Calls `visitor(value)` with `field`'s value in `event` (a reference to the
// member, so a non-const event can be written through it).
template <typename Event, typename Visitor>
decltype(auto) visit_field(Event& event, Field field, Visitor&& visitor) {
  return std::visit([&](auto member) -> decltype(auto) { return visitor(event.*member); },
                    spec(field).member);
}

}  // namespace millrace::core
