#pragma once

// What a receiver gets for one change, in each of an endpoint's formats
// (docs/webhooks.md):
//   standard                Standard Webhooks' payload, as stored in the
//                           queue: {"type":"<table>.<word>","timestamp":
//                           "<commit time>","data":<the change>}
//   cloudevents-structured  a CloudEvents 1.0 event in JSON
//                           (application/cloudevents+json) whose data is
//                           the change
//   cloudevents-binary      the change as the body (application/json), the
//                           event's attributes in ce-* headers
// The CloudEvents attributes are also what an endpoint's Event Grid filter
// reads (filter.hpp), whatever its format.

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace millrace::webhooks::detail {

enum class Format { kStandard, kCloudEventsStructured, kCloudEventsBinary };
std::optional<Format> format_named(std::string_view name);

// The word of an operation in the standard type ("created", ...); empty
// for an unknown one.
std::string_view op_word(std::string_view op);
// The CloudEvents type of an operation: com.millrace.row.created, .updated,
// .deleted, .snapshot; com.millrace.table.truncated, .backfilled, .gap.
std::string_view event_type(std::string_view op);

inline constexpr std::string_view kDataSchema = "urn:millrace:change:1";

struct EventAttributes {
  std::string id;
  std::string source;   // `source_prefix`/<schema.table>
  std::string type;     // event_type()
  std::string subject;  // <schema.table>, then /<value> per key column
  std::string time;     // the commit time, RFC 3339
};

// The attributes of a change (the feed's JSON value, read with numbers as
// strings or not: a key's number is written as it was in the value).
// `source_prefix` is "/millrace/<database>" unless configured.
EventAttributes attributes_of(const rapidjson::Value& change, std::string_view source_prefix);

// The change in a stored standard body, as it was written (read_change()
// made it): nullopt when the body is not one.
std::optional<std::string_view> standard_data(std::string_view body);

struct Wire {
  std::vector<std::pair<std::string, std::string>> headers;  // content-type first
  std::string body;
};
// A stored delivery's body in `format`. A body that is not a standard one
// (none should be) goes as it is.
Wire render(Format format, std::string_view stored_body, std::string_view source_prefix);

// A CloudEvents binary-mode header value: printable ASCII (U+0021 to
// U+007E) but '"' and '%' as is, the rest (space included)
// percent-encoded, byte by byte of the UTF-8 (CloudEvents HTTP binding
// 3.1.3.2).
std::string header_value(std::string_view value);

}  // namespace millrace::webhooks::detail
