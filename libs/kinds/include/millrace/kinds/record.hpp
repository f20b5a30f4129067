#pragma once

// A record of a declared kind (declaration.hpp), validated: one value per
// declared field, and its lines. Rejections use core's reasons
// (core/rejection.hpp), so dead letters, metrics and SQL read the same
// codes for every kind; a line's field is named "Details[2].ProductId"
// (lines counted from 1).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "millrace/core/decimal.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/kinds/declaration.hpp"

namespace millrace::kinds {

struct Timestamp {
  core::TimestampUs us;
  friend bool operator==(Timestamp, Timestamp) = default;
};

// monostate: null (an optional field absent or null). Text and UUIDs are
// strings, UUIDs in lower case.
using Value =
    std::variant<std::monostate, std::string, std::int64_t, core::Decimal, bool, Timestamp>;

struct Record {
  std::vector<Value> values;              // in the declaration's field order
  std::vector<std::vector<Value>> lines;  // each in the lines' field order

  const std::string& identity(const Declaration& d) const {
    return std::get<std::string>(values[d.identity]);
  }
  core::TimestampUs time(const Declaration& d) const {
    return std::get<Timestamp>(values[d.time]).us;
  }
};

// Where a declaration's record type (its type_header field) is read from.
enum class TypeFrom : std::uint8_t {
  // The message's header, which the body's field, when given, must match
  // (event_type_mismatch): as the sink reads a message its producer
  // routed by that header.
  kHeader,
  // The body's field when it is given once, as a string; else the header
  // stands in for it: as an HTTP request (X-Event-Type) or a producer's
  // line is read, one request mixing types.
  kBody,
};

// Parses and validates one message value with the declaration's codec
// ("codec" in it, proto/README.md). Checks go in declaration order, the
// lines after the field before them in the JSON, and the first failure is
// returned. Unknown members are ignored, as for store events; a known
// member given twice is refused.
// `type_header` is the message's event_type header, which a declaration
// with a type_header reads (and any other ignores), as `type_from` says.
std::variant<Record, core::Rejection> parse_record(
    const Declaration& d, std::string_view payload,
    std::optional<std::string_view> type_header = std::nullopt,
    TypeFrom type_from = TypeFrom::kHeader);

// A codec: how a message becomes a record. Every codec gives the same
// record, or the same rejection, for every message; they differ in how
// they get there, and so in speed. It fills `out` (a record of the same
// declaration parsed before is reused: its strings keep their capacity),
// which a rejection leaves partly written.
using ParseRecord = std::optional<core::Rejection> (*)(const Declaration& d,
                                                       std::string_view payload,
                                                       std::optional<std::string_view> type_header,
                                                       TypeFrom type_from, Record& out);
struct Codec {
  std::string_view name;  // what a declaration's "codec" says
  ParseRecord parse;
};

// Every codec, the default ("sax") first.
std::span<const Codec> codecs();

// The codec named `name`; throws core::UsageError naming the others for a
// name none has.
ParseRecord find_codec(std::string_view name);

// "dom": the document is parsed whole (json_tree.hpp), then each declared
// field is looked up and checked.
std::optional<core::Rejection> parse_record_dom_into(const Declaration& d, std::string_view payload,
                                                     std::optional<std::string_view> type_header,
                                                     TypeFrom type_from, Record& out);
std::variant<Record, core::Rejection> parse_record_dom(
    const Declaration& d, std::string_view payload,
    std::optional<std::string_view> type_header = std::nullopt,
    TypeFrom type_from = TypeFrom::kHeader);

// "sax": one SAX pass that checks each member as it arrives against its
// field, and keeps the first failure of each field to pick the one the
// declaration's order puts first.
std::optional<core::Rejection> parse_record_sax_into(const Declaration& d, std::string_view payload,
                                                     std::optional<std::string_view> type_header,
                                                     TypeFrom type_from, Record& out);
std::variant<Record, core::Rejection> parse_record_sax(
    const Declaration& d, std::string_view payload,
    std::optional<std::string_view> type_header = std::nullopt,
    TypeFrom type_from = TypeFrom::kHeader);

// A record's value as JSON (numbers exact, timestamps RFC 3339 in UTC).
void append_json(std::string& out, const Value& value);

}  // namespace millrace::kinds
