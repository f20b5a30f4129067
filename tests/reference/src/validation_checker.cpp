#include "validation_checker.hpp"

#include <cstdint>
#include <string>
#include <utility>

#include "millrace/core/decimal.hpp"
#include "millrace/core/text_formats.hpp"
#include "millrace/core/utf8.hpp"
#include "millrace/reference/contract.hpp"
#include "validation_detail.hpp"
#include "validation_fields.hpp"

namespace millrace::core::detail {

namespace {

// Field checks in one place; each returns false after recording the first
// failure, so the caller can chain them with &&.
class Checker {
 public:
  explicit Checker(const ParsedBody& body) : body_(body) {}

  Rejection take_rejection() { return std::move(rejection_); }

  bool fail(RejectReason reason, Field field, std::string detail) {
    rejection_.reason = reason;
    rejection_.field = std::string(kFieldNames[field]);
    rejection_.detail = std::move(detail);
    return false;
  }

  // The slot if the field carries a value; absent and null count as missing
  // for required fields.
  const Slot* get(Field field, bool required) {
    const Slot& slot = body_.slots[field];
    if (slot.duplicate) {
      fail(RejectReason::kInvalidFormat, field, name(field) + " appears more than once");
      return nullptr;
    }
    if (slot.kind == Kind::kAbsent || slot.kind == Kind::kNull) {
      if (required) {
        fail(RejectReason::kMissingField, field,
             name(field) + (slot.kind == Kind::kNull ? " is null" : " is missing"));
      }
      return nullptr;
    }
    return &slot;
  }

  const Slot* typed(Field field, Kind kind, std::string_view what) {
    const Slot* slot = get(field, true);
    if (slot == nullptr) return nullptr;
    if (slot->kind != kind) {
      wrong_type(field, what, *slot);
      return nullptr;
    }
    return slot;
  }

  bool wrong_type(Field field, std::string_view what, const Slot& slot) {
    return fail(RejectReason::kWrongType, field,
                name(field) + " must be " + std::string(what) + ", got " + describe(slot));
  }

  bool uuid(Field field, std::string& out) {
    const Slot* slot = typed(field, Kind::kString, "a string");
    if (slot == nullptr) return false;
    if (!lower_uuid(slot->text, out)) {
      return fail(RejectReason::kInvalidFormat, field,
                  name(field) + " is not a UUID: " + quoted(slot->text));
    }
    return true;
  }

  bool integer(Field field, std::int64_t min, std::int64_t max, std::int64_t& out) {
    const Slot* slot = typed(field, Kind::kNumber, "an integer");
    if (slot == nullptr) return false;
    const std::string_view text = slot->text;
    if (text.find_first_of(".eE") != std::string_view::npos) {
      return wrong_type(field, "an integer", *slot);
    }
    // The reader has checked the grammar: an optional '-' and digits.
    const bool negative = text[0] == '-';
    std::uint64_t magnitude = 0;
    bool overflow = false;
    for (std::size_t i = negative ? 1 : 0; i < text.size(); ++i) {
      const auto digit = static_cast<unsigned>(text[i] - '0');
      if (__builtin_mul_overflow(magnitude, 10u, &magnitude) ||
          __builtin_add_overflow(magnitude, digit, &magnitude)) {
        overflow = true;
        break;
      }
    }
    const auto umax = static_cast<std::uint64_t>(max);
    if (negative && magnitude != 0) {
      // Every range in the contract starts at 0 or above.
      return fail(
          RejectReason::kOutOfRange, field,
          name(field) + " must be >= " + std::to_string(min) + ", got " + short_number(text));
    }
    if (overflow || magnitude > umax) {
      return fail(
          RejectReason::kOutOfRange, field,
          name(field) + " must be <= " + std::to_string(max) + ", got " + short_number(text));
    }
    const auto value = static_cast<std::int64_t>(magnitude);
    if (value < min) {
      return fail(
          RejectReason::kOutOfRange, field,
          name(field) + " must be >= " + std::to_string(min) + ", got " + short_number(text));
    }
    out = value;
    return true;
  }

  bool decimal(Field field, Decimal min, Decimal max, Decimal& out) {
    const Slot* slot = typed(field, Kind::kNumber, "a number");
    if (slot == nullptr) return false;
    auto out_of_range = [&] {
      return fail(RejectReason::kOutOfRange, field,
                  name(field) + " must be between " + min.to_string() + " and " + max.to_string() +
                      ", got " + short_number(slot->text));
    };
    Decimal value;
    switch (parse_decimal(slot->text, value)) {
      case DecimalStatus::kOk:
        break;
      case DecimalStatus::kNotANumber:
        return wrong_type(field, "a number", *slot);
      case DecimalStatus::kTooPrecise:
        // Well typed but not representable in the contract's NUMERIC(.., 6).
        return fail(RejectReason::kOutOfRange, field,
                    name(field) + " has more than " + std::to_string(Decimal::kScale) +
                        " decimal places: " + short_number(slot->text));
      case DecimalStatus::kOverflow:
        return out_of_range();
    }
    if (value < min || value > max) return out_of_range();
    out = value;
    return true;
  }

  bool boolean(Field field, bool& out) {
    const Slot* slot = typed(field, Kind::kBool, "a boolean");
    if (slot == nullptr) return false;
    out = slot->boolean;
    return true;
  }

  bool check_text(Field field, std::string_view text) {
    if (text.empty()) {
      return fail(RejectReason::kOutOfRange, field, name(field) + " must not be empty");
    }
    if (text.size() > kMaxTextBytes) {
      return fail(RejectReason::kOutOfRange, field,
                  name(field) + " must be at most " + std::to_string(kMaxTextBytes) +
                      " bytes, got " + std::to_string(text.size()));
    }
    if (!is_storable_text(text)) return not_storable(field, text);
    return true;
  }

  bool not_storable(Field field, std::string_view text) {
    return fail(RejectReason::kInvalidFormat, field,
                name(field) + " contains a NUL character or invalid UTF-8: " + quoted(text));
  }

  bool text(Field field, std::string& out) {
    const Slot* slot = typed(field, Kind::kString, "a string");
    if (slot == nullptr || !check_text(field, slot->text)) return false;
    out = slot->text;
    return true;
  }

  bool ip(Field field, std::string& out) {
    const Slot* slot = typed(field, Kind::kString, "a string");
    if (slot == nullptr) return false;
    const std::string_view text = slot->text;
    if (!is_ip_address(text)) {
      return fail(RejectReason::kInvalidFormat, field,
                  name(field) + " is not an IPv4 or IPv6 address: " + quoted(text));
    }
    out = text;
    return true;
  }

  bool timestamp(Field field, TimestampUs& out) {
    const Slot* slot = typed(field, Kind::kString, "a string");
    if (slot == nullptr) return false;
    const auto ts = parse_timestamp(slot->text);
    if (!ts) {
      return fail(RejectReason::kInvalidFormat, field,
                  name(field) + " is not an ISO-8601 timestamp between years 1970 and 9999: " +
                      quoted(slot->text));
    }
    out = *ts;
    return true;
  }

  bool optional_text(Field field, std::optional<std::string>& out) {
    const Slot* slot = get(field, false);
    if (slot == nullptr) {
      if (body_.slots[field].duplicate) return false;
      out.reset();
      return true;
    }
    if (slot->kind != Kind::kString) return wrong_type(field, "a string or null", *slot);
    // Free text with no length or emptiness rule in the contract (the column
    // is unbounded text); only what PostgreSQL cannot store is refused.
    if (!is_storable_text(slot->text)) return not_storable(field, slot->text);
    out = slot->text;
    return true;
  }

  bool event_type_field(std::string_view header) {
    const Slot* slot = get(kEventType, false);
    if (slot == nullptr) return !body_.slots[kEventType].duplicate;
    if (slot->kind != Kind::kString) return wrong_type(kEventType, "a string", *slot);
    if (slot->text != header) {
      return fail(RejectReason::kEventTypeMismatch, kEventType,
                  "event_type field " + quoted(slot->text) + " does not match the header " +
                      quoted(header));
    }
    return true;
  }

 private:
  // Built only on failure: the accept path must not allocate for messages.
  static std::string name(Field field) { return std::string(kFieldNames[field]); }

  const ParsedBody& body_;
  Rejection rejection_{RejectReason::kInvalidJson, {}, {}};
};

// Checks one field of the parsed body and stores it in its member.
bool check_field(Checker& c, Field f, std::string_view event_type_header, StoreEvent& event) {
  const FieldSpec& field = spec(f);
  switch (field.type) {
    case FieldType::kUuid:
      return c.uuid(f, member_of<std::string>(event, field));
    case FieldType::kText:
      return c.text(f, member_of<std::string>(event, field));
    case FieldType::kIp:
      return c.ip(f, member_of<std::string>(event, field));
    case FieldType::kFreeText:
      return c.optional_text(f, member_of<std::optional<std::string>>(event, field));
    case FieldType::kInteger: {
      // Parsed as 64 bits; the bounds fit the member (contract.hpp checks).
      std::int64_t value = 0;
      if (!c.integer(f, field.min, field.max, value)) return false;
      visit_field(event, f,
                  Overloaded{[&](std::int32_t& m) { m = static_cast<std::int32_t>(value); },
                             [&](std::int64_t& m) { m = value; }, [](auto&) {}});
      return true;
    }
    case FieldType::kDecimal:
      return c.decimal(f, Decimal::from_integer(field.min), Decimal::from_integer(field.max),
                       member_of<Decimal>(event, field));
    case FieldType::kBoolean:
      return c.boolean(f, member_of<bool>(event, field));
    case FieldType::kTimestamp:
      return c.timestamp(f, member_of<TimestampUs>(event, field));
    case FieldType::kEventType:
      // The member comes from the header; a body that repeats it must agree.
      return c.event_type_field(event_type_header);
  }
  return false;
}

}  // namespace

std::optional<Rejection> validate_parsed(const ParsedBody& body,
                                         std::optional<std::string_view> event_type_header,
                                         StoreEvent& event) {
  if (body.root != Root::kObject) {
    return reject(RejectReason::kNotAnObject,
                  "expected a JSON object, got " + std::string(root_name(body.root)));
  }
  if (!event_type_header) {
    return reject(RejectReason::kMissingEventType, "no event_type header");
  }
  const auto type = parse_event_type(*event_type_header);
  if (!type) {
    return reject(RejectReason::kUnknownEventType,
                  "unknown event_type header " + quoted(*event_type_header) + ", expected " +
                      std::string(kSaleEvent) + " or " + std::string(kInventoryEvent));
  }

  event.event_type = *type;
  Checker c(body);
  // Every field in contract order; the first failure is the rejection.
  for (int i = 0; i < kFieldCount; ++i) {
    if (!check_field(c, static_cast<Field>(i), *event_type_header, event)) {
      return c.take_rejection();
    }
  }
  return std::nullopt;
}

}  // namespace millrace::core::detail
