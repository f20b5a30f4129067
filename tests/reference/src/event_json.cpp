#include "event_json.hpp"

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "millrace/core/decimal.hpp"
#include "millrace/core/json_string.hpp"
#include "millrace/core/overloaded.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/reference/contract.hpp"
#include "millrace/reference/store_event.hpp"

namespace millrace::core {

namespace detail {
namespace {

// Writes the members of one object in order.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_.push_back('{'); }
  void finish() { out_.push_back('}'); }

  void string(std::string_view key, std::string_view value) {
    begin(key);
    append_json_string(out_, value);
  }
  void optional_string(std::string_view key, const std::optional<std::string>& value) {
    begin(key);
    if (value) {
      append_json_string(out_, *value);
    } else {
      out_ += "null";
    }
  }
  void integer(std::string_view key, std::int64_t value) {
    begin(key);
    char buf[24];
    const auto result = std::to_chars(buf, buf + sizeof buf, value);
    out_.append(buf, static_cast<std::size_t>(result.ptr - buf));
  }
  void decimal(std::string_view key, Decimal value) {
    begin(key);
    out_ += value.to_string();
  }
  void boolean(std::string_view key, bool value) {
    begin(key);
    out_ += value ? "true" : "false";
  }

 private:
  // Emits the separator and the key.
  void begin(std::string_view key) {
    if (!first_) out_.push_back(',');
    first_ = false;
    append_json_string(out_, key);
    out_.push_back(':');
  }

  std::string& out_;
  bool first_ = true;
};

}  // namespace

void write_event_json(std::string& out, const StoreEvent& event,
                      std::optional<std::string_view> event_type_field) {
  out.clear();
  out.reserve(512);
  ObjectWriter w(out);
  // Members in contract order, each written by its type.
  for (int i = 0; i < kFieldCount; ++i) {
    const auto f = static_cast<Field>(i);
    const FieldSpec& field = spec(f);
    const std::string_view name = field.name;
    switch (field.type) {
      case FieldType::kEventType:
        // The body's copy of the header, when asked for.
        if (event_type_field) w.string(name, *event_type_field);
        continue;
      case FieldType::kTimestamp:
        w.string(name, format_timestamp(member_of<TimestampUs>(event, field)));
        continue;
      default:
        break;
    }
    visit_field(event, f,
                Overloaded{[&](const std::string& v) { w.string(name, v); },
                           [&](std::int32_t v) { w.integer(name, v); },
                           [&](std::int64_t v) { w.integer(name, v); },
                           [&](const Decimal& v) { w.decimal(name, v); },
                           [&](bool v) { w.boolean(name, v); },
                           [&](const std::optional<std::string>& v) { w.optional_string(name, v); },
                           [&](EventType) {}});
  }
  w.finish();
}

}  // namespace detail

std::string to_json(const StoreEvent& event, bool include_event_type) {
  std::string out;
  std::optional<std::string_view> type_field;
  if (include_event_type) type_field = to_string(event.event_type);
  detail::write_event_json(out, event, type_field);
  return out;
}

}  // namespace millrace::core
