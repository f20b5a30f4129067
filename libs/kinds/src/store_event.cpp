#include "millrace/kinds/store_event.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <string_view>

#include "millrace/core/options.hpp"
#include "millrace/kinds/registry.hpp"

namespace millrace::kinds {

namespace {

// The index of the required field `name` of type `type`.
std::size_t store_field(const Declaration& d, std::string_view name, ValueType type) {
  const auto it = std::find_if(d.fields.begin(), d.fields.end(),
                               [&](const FieldDecl& f) { return f.name == name; });
  const auto refuse = [&](const std::string& why) {
    throw core::UsageError("kind declaration " + d.kind + ": the store event's field " +
                           std::string(name) + " " + why);
  };
  if (it == d.fields.end()) refuse("is missing");
  if (it->type != type) refuse("has another type than routing and the producers read it as");
  if (!it->required && !(d.type_header && &d.fields[*d.type_header] == &*it)) {
    refuse("must be required");
  }
  return static_cast<std::size_t>(it - d.fields.begin());
}

std::size_t int32_field(const Declaration& d, std::string_view name) {
  const std::size_t i = store_field(d, name, ValueType::kInteger);
  if (d.fields[i].int_min < std::numeric_limits<std::int32_t>::min() ||
      d.fields[i].int_max > std::numeric_limits<std::int32_t>::max()) {
    throw core::UsageError("kind declaration " + d.kind + ": the store event's field " +
                           std::string(name) + " must fit 32 bits");
  }
  return i;
}

}  // namespace

StoreEventFields::StoreEventFields(const Declaration& d)
    : event_type_(store_field(d, "event_type", ValueType::kText)),
      id_(store_field(d, "id", ValueType::kUuid)),
      store_id_(int32_field(d, "store_id")),
      priority_(store_field(d, "priority_shipping", ValueType::kBoolean)),
      price_(store_field(d, "price", ValueType::kDecimal)),
      qty_(int32_field(d, "qty")),
      discount_(store_field(d, "discount", ValueType::kDecimal)),
      is_return_(store_field(d, "is_return", ValueType::kBoolean)),
      category_(store_field(d, "category", ValueType::kText)),
      sku_(store_field(d, "sku", ValueType::kInteger)),
      ts_(store_field(d, "ts", ValueType::kTimestamp)) {
  // event_type() reads the record's type as one of core::EventType's
  // names, by its length: the declaration's values must be both of them.
  const auto& values = d.fields[event_type_].values;
  const bool types =
      d.type_header == event_type_ && values.size() == 2 &&
      std::all_of(values.begin(), values.end(),
                  [](const std::string& v) { return core::parse_event_type(v).has_value(); }) &&
      values[0].size() != values[1].size();
  if (!types) {
    throw core::UsageError("kind declaration " + d.kind +
                           ": the store event's type (type_header) must be event_type, with "
                           "the values sale_event and inventory_event");
  }
}

const StoreEventFields& StoreEventFields::built_in() {
  static const StoreEventFields fields(find_kind(kStoreEvent, ""));
  return fields;
}

}  // namespace millrace::kinds
