// libFuzzer target: a message value or HTTP body of a declared kind (the
// built-in order, with lines) as the sink, the aggregator and the producer
// read it (kinds::parse_record). Beyond not crashing: a record that parses,
// written back as JSON value by value, parses again to the same values; and
// every codec gives what the dom codec gives.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"

namespace {

using millrace::kinds::Declaration;
using millrace::kinds::FieldDecl;
using millrace::kinds::Record;
using millrace::kinds::Value;

void check(bool condition) {
  if (!condition) std::abort();
}

void append_object(std::string& out, const std::vector<FieldDecl>& fields,
                   const std::vector<Value>& values) {
  out += '{';
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    out += '"' + fields[i].name + "\":";
    millrace::kinds::append_json(out, values[i]);
  }
  out += '}';
}

std::string to_json(const Declaration& d, const Record& r) {
  std::string out;
  append_object(out, d.fields, r.values);
  if (d.lines) {
    out.insert(out.size() - 1, ",\"" + d.lines->name + "\":[");
    std::string lines;
    for (std::size_t n = 0; n < r.lines.size(); ++n) {
      if (n > 0) lines += ',';
      append_object(lines, d.lines->fields, r.lines[n]);
    }
    out.insert(out.size() - 1, lines + "]");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Declaration order = millrace::kinds::find_kind("order", "");
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  const auto parsed = millrace::kinds::parse_record_dom(order, payload);
  // Each codec fills a record it filled for the inputs before, as a
  // service's reused one is.
  static std::vector<Record> reused(millrace::kinds::codecs().size());
  for (std::size_t c = 0; c < reused.size(); ++c) {
    const auto rejection = millrace::kinds::codecs()[c].parse(
        order, payload, std::nullopt, millrace::kinds::TypeFrom::kHeader, reused[c]);
    check(rejection.has_value() == (parsed.index() == 1));
    if (const auto* record = std::get_if<Record>(&parsed)) {
      check(reused[c].values == record->values);
      check(reused[c].lines == record->lines);
    } else {
      const auto& a = std::get<millrace::core::Rejection>(parsed);
      check(a.reason == rejection->reason && a.field == rejection->field &&
            a.detail == rejection->detail);
    }
  }
  if (const auto* record = std::get_if<Record>(&parsed)) {
    const auto again = millrace::kinds::parse_record(order, to_json(order, *record));
    const auto* same = std::get_if<Record>(&again);
    check(same != nullptr);
    check(same->values == record->values);
    check(same->lines == record->lines);
  } else {
    const auto& rejection = std::get<millrace::core::Rejection>(parsed);
    check(!rejection.detail.empty());
  }
  return 0;
}
