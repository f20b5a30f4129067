#pragma once

// A feed file: how the text frames of a streaming JSON feed (a market-data
// WebSocket: Finnhub's, Binance's) become records of a declared kind, with
// no code per feed (docs/trades.md, proto/feeds/). It says
// - which frames carry records: by a type member (`type_field`, whose value
//   must be one of `data_types`); any other frame is a control frame (a
//   ping, an acknowledgement), counted, not produced;
// - where the records are: an array at a path unrolled (Finnhub's `data`),
//   or the frame itself (Binance's one trade per frame);
// - each field of the kind from the record: a member (renamed: Binance's
//   one-letter names), converted (epoch milliseconds to a timestamp, an
//   array joined into text), a constant, or several parts joined (an
//   identity made of the symbol, the time and the record's place in the
//   run, for feeds that send no trade id);
// - which field keys the records in Kafka (the symbol);
// - the messages to send after each connect, per symbol ({symbol}).
// A frame maps whole or not at all: the first record the kind refuses
// refuses the frame, which goes to the dead letters as it came, so that
// every frame is produced, refused or control, and none half.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/core/rejection.hpp"
#include "millrace/kinds/declaration.hpp"

namespace millrace::kinds {

struct FeedPart {
  enum class Source : std::uint8_t {
    kMember,    // the member at `path` of the record
    kConstant,  // `text`
    kRun,       // the run's id
    kFrame,     // the frame's number in the run (from 1)
    kIndex,     // the record's number in the frame (from 1)
  };
  Source source = Source::kMember;
  std::vector<std::string> path;  // "a.b": {"a", "b"}
  std::string text;
};

struct FeedField {
  enum class As : std::uint8_t {
    kValue,    // the member's JSON value as it is
    kEpochMs,  // a number of milliseconds since the epoch, as a timestamp
    kEpochS,   // of seconds
    kEpochUs,  // of microseconds
    kJoin,     // an array of strings or numbers joined with "," into text
    kText,     // a string, or a number's literal, as text
    kParts,    // `parts` joined with ":" into text
  };
  std::size_t field = 0;  // in the kind's fields
  As as = As::kValue;
  std::vector<FeedPart> parts;  // one for every form but kParts
};

struct FeedDecl {
  std::string name;                    // "finnhub"
  std::string kind;                    // the kind's name
  std::vector<std::string> type_path;  // empty: every frame carries records
  std::vector<std::string> data_types;
  bool unroll = false;  // the records are the array at records_path
  std::vector<std::string> records_path;
  std::vector<FeedField> fields;  // in the kind's field order, each at most once
  std::size_t key = 0;            // the kind's field whose value is the Kafka key
  // Sent after each connect, one per symbol, "{symbol}" in any string
  // replaced by it (JSON-escaped); unsubscribe when a reload drops one.
  std::string subscribe;
  std::string unsubscribe;
};

// The kind a feed file names (its "kind"), to find its declaration before
// parse_feed. Throws core::UsageError naming `origin`.
std::string feed_kind(std::string_view json, std::string_view origin);

// Reads a feed file for kind `d`. Throws core::UsageError naming `origin`
// and what is wrong (an unknown member, a field the kind does not have or
// a conversion its type cannot take, a required field left unmapped, a
// subscribe message that is not JSON).
FeedDecl parse_feed(std::string_view json, std::string_view origin, const Declaration& d);

// `message` (subscribe or unsubscribe) for `symbol`: empty when the feed
// has none.
std::string feed_message(const std::string& message, std::string_view symbol);

struct MappedRecord {
  std::string key;
  std::string payload;  // the record as the kind reads it: its own names, exact numbers
};

struct FrameContext {
  std::string run;          // the run's id
  std::uint64_t frame = 0;  // the frame's number in the run
};

struct MappedFrame {
  enum class Outcome : std::uint8_t { kRecords, kControl, kRefused };
  Outcome outcome = Outcome::kControl;
  std::vector<MappedRecord> records;                                    // kRecords: one or more
  core::Rejection rejection{core::RejectReason::kInvalidJson, "", ""};  // kRefused
};

// One text frame mapped. Refusals use the kinds' reasons (invalid_json,
// not_an_object, missing_field, wrong_type, out_of_range, invalid_format);
// a record's field is named with its place ("data[3].Price").
MappedFrame map_frame(const FeedDecl& feed, const Declaration& d, std::string_view frame,
                      const FrameContext& context);

}  // namespace millrace::kinds
