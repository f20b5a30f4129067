#pragma once

// The store event's fields, defined once. Validation takes the names and
// bounds from here, the generator its list of required fields, the sink its
// COPY columns, and the JSON encoding its keys. Tests check this table
// against proto/store_event.schema.json and against the store_events
// columns the migrations create; proto/README.md says how to add a field.

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

namespace millrace::core {

// In contract order: validation checks the fields in this order and reports
// the first failure.
enum Field : int {
  kId,
  kRequestId,
  kStoreId,
  kStoreFqdn,
  kStoreIp,
  kCustId,
  kCategory,
  kSku,
  kPrice,
  kQty,
  kDiscount,
  kGiftWrap,
  kVariant,
  kPriorityShipping,
  kTs,
  kContactMe,
  kIsReturn,
  kEventTypeField,
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

struct FieldSpec {
  std::string_view name;  // the JSON member, and the store_events column
  FieldType type;
  bool required;
  // Bounds of an integer or decimal value (inclusive); unused otherwise.
  std::int64_t min = 0;
  std::int64_t max = 0;
};

inline constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
inline constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

inline constexpr std::array<FieldSpec, kFieldCount> kStoreEventFields = {{
    {"id", FieldType::kUuid, true},
    {"request_id", FieldType::kUuid, true},
    {"store_id", FieldType::kInteger, true, 0, kInt32Max},
    {"store_fqdn", FieldType::kText, true},
    {"store_ip", FieldType::kIp, true},
    {"cust_id", FieldType::kInteger, true, 0, kInt64Max},
    {"category", FieldType::kText, true},
    {"sku", FieldType::kInteger, true, 0, kInt64Max},
    {"price", FieldType::kDecimal, true, 0, 1'000'000'000},
    {"qty", FieldType::kInteger, true, 1, 1'000'000},
    {"discount", FieldType::kDecimal, true, 0, 100},
    {"gift_wrap", FieldType::kBoolean, true},
    {"variant", FieldType::kText, true},
    {"priority_shipping", FieldType::kBoolean, true},
    {"ts", FieldType::kTimestamp, true},
    {"contact_me", FieldType::kFreeText, false},
    {"is_return", FieldType::kBoolean, true},
    // Travels in the event_type Kafka header; a body may repeat it, and must
    // then agree.
    {"event_type", FieldType::kEventType, false},
}};

constexpr const FieldSpec& spec(Field f) {
  return kStoreEventFields[static_cast<std::size_t>(f)];
}
constexpr std::string_view field_name(Field f) {
  return spec(f).name;
}

// store_events' columns of the event, in the table's order (the COPY order);
// the row's source (kafka_topic, kafka_partition, kafka_offset) follows them.
inline constexpr std::array<Field, kFieldCount> kColumnOrder = {
    kId,      kRequestId, kEventTypeField, kStoreId, kStoreFqdn,
    kStoreIp, kCustId,    kCategory,       kSku,     kPrice,
    kQty,     kDiscount,  kGiftWrap,       kVariant, kPriorityShipping,
    kTs,      kContactMe, kIsReturn,
};

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

}  // namespace millrace::core
