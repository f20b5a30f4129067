#pragma once

// The change feed's outbox format (--format outbox): each row inserted into
// an outbox table becomes one event, as Debezium's outbox event router
// (io.debezium.transforms.outbox.EventRouter) turns it into one, published
// in the feed's Kafka transactions, so exactly once for read_committed
// consumers. docs/outbox.md maps each option to the router's setting and
// names what differs.
//
// - The record's timestamp: the timestamp column's, when one is set and
//   the value is not null (table.field.event.timestamp).
// - The topic: the route column's value matched against a regex
//   (route.topic.regex) and put into a template (route.topic.replacement,
//   "${routedByValue}"), as Kafka Connect's RegexRouter does; the key: the
//   key column's value; the header "id": the id column's value.
// - The value: the payload column's text as it is (what Kafka Connect's
//   StringConverter writes of it); with the payload expanded or a column
//   placed in the envelope, a JSON object as JsonConverter writes it with
//   schemas off.
// - Deletes are ignored, updates as table.op.invalid.behavior says, both
//   counted. Truncates and a backfill's markers are no events: truncates are
//   counted, markers go to the feed's own topic as Millrace change records.
// - A row the router could not publish (a null route or key or id, a
//   missing column, a payload that is not JSON with expansion on, a topic
//   Kafka does not allow) is dead-lettered to the feed's own topic: the
//   Millrace change record of the row, with the headers below saying why.
//
// Pure: unit-tested without a broker (tests/outbox_test.cpp).

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/changefeed/record_format.hpp"
#include "millrace/core/enum_names.hpp"

namespace millrace::changefeed::outbox {

// table.op.invalid.behavior: an update of an outbox row is skipped with a
// warning or an error in the log, or stops the feed.
enum class InvalidOp : std::uint8_t { kWarn, kError, kFatal };
inline constexpr core::EnumNames<InvalidOp, 3> kInvalidOpNames({{InvalidOp::kWarn, "warn"},
                                                                {InvalidOp::kError, "error"},
                                                                {InvalidOp::kFatal, "fatal"}});

enum class Placement : std::uint8_t { kHeader, kEnvelope };
// One entry of table.fields.additional.placement: "column:header",
// "column:envelope", each with ":alias" to publish it under another name.
struct AdditionalField {
  std::string column;
  Placement placement = Placement::kHeader;
  std::string alias;  // the column's name unless given
};
// Parses the entries; throws core::UsageError naming the bad one.
std::vector<AdditionalField> parse_additional_fields(const std::vector<std::string>& entries);

// Why a row was dead-lettered: the value of kReasonHeader.
enum class Reason : std::uint8_t {
  kMissingColumn,  // "missing_column": the table has no such column
  kNullRoute,      // "null_route": the route column is null
  kNullKey,        // "null_key": the key column is null
  kNullId,         // "null_id": the id column is null
  kInvalidJson,    // "invalid_json": expansion on, the payload not a JSON object or array
  kInvalidTopic,   // "invalid_topic": the routed topic is not a name Kafka allows
  // "invalid_timestamp": the timestamp column is neither a timestamp nor a
  // timestamptz, or its value is before 1970 or infinite
  kInvalidTimestamp,
};
inline constexpr std::size_t kReasonCount = 7;
std::string_view reason_code(Reason reason);

inline constexpr std::string_view kReasonHeader = "millrace.outbox.reason";
inline constexpr std::string_view kDetailHeader = "millrace.outbox.detail";

// Whether Kafka allows `topic` as a topic's name: 1 to 249 of [a-zA-Z0-9._-],
// not "." or "..". Returns the reason it does not, empty when it does.
std::string topic_problem(std::string_view topic);

// route.topic.regex's default: the whole route value, group routedByValue.
inline constexpr std::string_view kDefaultTopicRegex = "(?<routedByValue>.*)";

// The event's topic from the route column's value, as Kafka Connect's
// RegexRouter makes it behind the EventRouter: the value matched whole
// against route.topic.regex (ECMAScript's syntax, with Java's (?<name>...)
// groups), then route.topic.replacement in Java's replacement syntax ($n,
// ${name}, \ before a literal $ or \); a value not matched is the topic as
// it is.
class TopicRoute {
 public:
  // Throws core::UsageError naming what is wrong in either.
  TopicRoute(const std::string& regex, const std::string& replacement);
  ~TopicRoute();
  TopicRoute(TopicRoute&&) noexcept;
  TopicRoute& operator=(TopicRoute&&) noexcept;
  std::string topic(const std::string& value) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct Options {
  std::string id_column = "id";            // table.field.event.id
  std::string key_column = "aggregateid";  // table.field.event.key
  std::string payload_column = "payload";  // table.field.event.payload
  // table.field.event.timestamp: a timestamp or timestamptz column, the
  // record's timestamp; empty (or the value null): the time it is produced.
  std::string timestamp_column;
  std::string route_by = "aggregatetype";  // route.by.field
  // route.topic.regex, matched against the route's value.
  std::string topic_regex = std::string(kDefaultTopicRegex);
  // route.topic.replacement, with the regex's groups.
  std::string topic = "outbox.event.${routedByValue}";
  bool tombstone_on_empty_payload = false;  // route.tombstone.on.empty.payload
  std::vector<AdditionalField> additional;  // table.fields.additional.placement
  bool expand_json_payload = false;         // table.expand.json.payload
  InvalidOp invalid_op = InvalidOp::kWarn;  // table.op.invalid.behavior
  // Dead letters and markers go here: the feed's --topic.
  std::string feed_topic;
};

// What the format did with the rows it was given, as encoded (a publish
// that fails is encoded again by the next session). Read by the probe from
// another thread.
struct Counts {
  std::atomic<std::uint64_t> events{0};
  std::atomic<std::uint64_t> deletes_ignored{0};
  std::atomic<std::uint64_t> updates_ignored{0};
  std::atomic<std::uint64_t> truncates_ignored{0};
  std::array<std::atomic<std::uint64_t>, kReasonCount> dead_letters{};
};

// `counts` must outlive the format. Throws core::InfraError (fatal) from
// encode() for an update under InvalidOp::kFatal.
std::unique_ptr<RecordFormat> make_format(Options options, Counts& counts);

}  // namespace millrace::changefeed::outbox
