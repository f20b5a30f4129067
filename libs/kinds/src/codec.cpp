#include "millrace/kinds/codec.hpp"

#include <algorithm>

#include "millrace/core/options.hpp"
#include "millrace/kinds/registry.hpp"

namespace millrace::kinds {

namespace {

template <typename T>
bool holds(KeepCondition::Op op, T value, T bound) {
  switch (op) {
    case KeepCondition::Op::kGt:
      return value > bound;
    case KeepCondition::Op::kGe:
      return value >= bound;
    case KeepCondition::Op::kLt:
      return value < bound;
    case KeepCondition::Op::kLe:
      return value <= bound;
    default:
      return false;
  }
}

bool holds(const KeepCondition& c, const Value& value) {
  if (const auto* i = std::get_if<std::int64_t>(&value)) return holds(c.op, *i, c.integer);
  if (const auto* d = std::get_if<core::Decimal>(&value)) return holds(c.op, *d, c.decimal);
  if (const auto* t = std::get_if<Timestamp>(&value)) return holds(c.op, t->us, c.integer);
  if (const auto* s = std::get_if<std::string>(&value)) {
    const bool listed = std::find(c.values.begin(), c.values.end(), *s) != c.values.end();
    return c.op == KeepCondition::Op::kIn ? listed : !listed;
  }
  return false;  // null: no condition holds on it
}

}  // namespace

std::optional<std::string_view> not_kept(const std::vector<KeepCondition>& keep,
                                         const Record& record) {
  for (const auto& c : keep) {
    if (!holds(c, record.values[c.field])) return c.reason;
  }
  return std::nullopt;
}

StoreEventKeep store_event_keep(const Declaration& d) {
  const auto refuse = [&](const std::string& what) -> void {
    throw core::UsageError("kind declaration " + d.kind +
                           ": keep: the store event's compiled filter takes discount gt a "
                           "number (reason discount_not_above_threshold) and event_type in a "
                           "list (reason event_type_not_kept), each once: " +
                           what);
  };
  StoreEventKeep out;
  bool discount = false, types = false;
  for (const auto& c : d.keep) {
    const auto& field = d.fields[c.field].name;
    if (field == "discount" && c.op == KeepCondition::Op::kGt &&
        c.reason == core::reason_code(core::FilterReason::kDiscountNotAbove) && !discount) {
      out.min_discount = c.decimal.to_string();
      discount = true;
    } else if (field == "event_type" && c.op == KeepCondition::Op::kIn &&
               c.reason == core::reason_code(core::FilterReason::kEventTypeNotKept) && !types) {
      out.keep_types = c.values;
      types = true;
    } else {
      refuse("not " + field + " " + std::string(op_name(c.op)) + " (reason " + c.reason + ")");
    }
  }
  if (!discount || !types) refuse("both conditions are needed");
  return out;
}

const StoreEventKeep& built_in_store_event_keep() {
  static const StoreEventKeep keep = store_event_keep(find_kind(kStoreEvent, ""));
  return keep;
}

}  // namespace millrace::kinds
