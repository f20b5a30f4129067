#pragma once

// The store event's fields read from its record (a kinds::Record of its
// declaration, as DeclaredCodec gives it), typed as core reads them
// (core::EventType, core::Sale): what routes it on Kafka (core/store_message.hpp: its type,
// key and headers; core/partitioner.hpp: its partition) and what the
// producers count. The fields are found by name once, and their shape
// checked, when this is made.

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "millrace/core/decimal.hpp"
#include "millrace/core/event_type.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/core/window.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/record.hpp"

namespace millrace::kinds {

class StoreEventFields {
 public:
  // Throws core::UsageError naming a field the declaration lacks, or
  // declares otherwise than core reads it (required, of its type, an
  // integer within the range of the member it is read into, the type's
  // values core::EventType's).
  explicit StoreEventFields(const Declaration& store_event);
  // The built-in declaration's (proto/kinds/store_event.json).
  static const StoreEventFields& built_in();

  // Of a record the declaration accepted.
  // The record's type is one of the two the declaration allows (checked
  // when this is made), which differ in length.
  static_assert(core::kSaleEvent.size() != core::kInventoryEvent.size());
  core::EventType event_type(const Record& r) const {
    return std::get<std::string>(r.values[event_type_]).size() == core::kSaleEvent.size()
               ? core::EventType::kSale
               : core::EventType::kInventory;
  }
  const std::string& id(const Record& r) const { return std::get<std::string>(r.values[id_]); }
  std::int32_t store_id(const Record& r) const { return int32(r, store_id_); }
  bool priority_shipping(const Record& r) const { return std::get<bool>(r.values[priority_]); }
  core::Decimal price(const Record& r) const { return std::get<core::Decimal>(r.values[price_]); }
  std::int32_t qty(const Record& r) const { return int32(r, qty_); }
  core::Decimal discount(const Record& r) const {
    return std::get<core::Decimal>(r.values[discount_]);
  }
  bool is_return(const Record& r) const { return std::get<bool>(r.values[is_return_]); }
  const std::string& category(const Record& r) const {
    return std::get<std::string>(r.values[category_]);
  }
  std::int64_t sku(const Record& r) const { return std::get<std::int64_t>(r.values[sku_]); }
  core::TimestampUs ts(const Record& r) const { return std::get<Timestamp>(r.values[ts_]).us; }
  // What the aggregates read of it (core/window.hpp); `r` must outlive it.
  core::Sale sale(const Record& r) const {
    return {ts(r),    event_type(r), &category(r), sku(r),
            price(r), qty(r),        discount(r),  is_return(r)};
  }

 private:
  static std::int32_t int32(const Record& r, std::size_t i) {
    return static_cast<std::int32_t>(std::get<std::int64_t>(r.values[i]));
  }

  std::size_t event_type_ = 0, id_ = 0, store_id_ = 0, priority_ = 0, price_ = 0, qty_ = 0,
              discount_ = 0, is_return_ = 0, category_ = 0, sku_ = 0, ts_ = 0;
};

}  // namespace millrace::kinds
