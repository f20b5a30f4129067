#pragma once

// One row change as the change feed publishes it, and its encodings: the
// JSON value (proto/change.schema.json), the Kafka key (table and primary
// key, so one row's changes stay in order on one partition) and the change
// id (stable across restarts: the same change decoded again gets the same
// id, so consumers and webhook receivers can deduplicate by it).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "millrace/changefeed/lsn.hpp"
#include "millrace/changefeed/pgoutput.hpp"

namespace millrace::changefeed {

// Where a change comes from: its transaction's commit, and its place in it.
struct Source {
  Lsn commit_lsn = 0;
  std::uint32_t xid = 0;
  std::int64_t commit_time_pg_us = 0;  // µs since 2000-01-01, as on the wire
  std::uint32_t seq = 0;               // 0-based position in the transaction
  Lsn change_lsn = 0;                  // the change's own WAL position; 0 if unknown
  std::int64_t backfill = 0;           // the backfill a row read comes from; 0 if none
  std::string audience;                // that backfill's audience; empty: every consumer
};

enum class Op : char {
  kCreate = 'c',
  kUpdate = 'u',
  kDelete = 'd',
  kRead = 'r',         // a row of the initial snapshot or of a backfill
  kTruncate = 't',     // the whole table emptied; no key, no rows
  kBackfillEnd = 'e',  // a backfill of the table published its last chunk; no key, no rows
  kGap = 'g',          // changes of the table in an LSN range were lost; no key, no rows
};

// True for the ops that concern one row (and so have a key).
inline bool has_key(Op op) {
  return op != Op::kTruncate && op != Op::kBackfillEnd && op != Op::kGap;
}

// What a marker record (op e or g) says besides its table.
struct Marker {
  std::uint64_t rows = 0;  // e: the rows the backfill published
  std::string where;       // e: the condition it was asked with; empty for every row
  Lsn gap_from = 0;        // g: the last position published before the gap
  Lsn gap_to = 0;          // g: where changes are published again
};

// A change ready to encode. Tuples are in the relation's column order.
struct Change {
  Op op = Op::kCreate;
  // As described when the change was made (a later ALTER TABLE describes it
  // anew without changing this one).
  std::shared_ptr<const Relation> relation;
  // The columns that identify a row (indexes into relation->columns): the
  // primary key. Empty for a truncate.
  std::vector<std::size_t> key_columns;
  std::optional<Tuple> before;   // the old row (replica identity full)
  std::optional<Tuple> old_key;  // or only the old key (the key changed, or a delete)
  std::optional<Tuple> after;
  Source source;
  std::optional<Marker> marker;  // for op e and g
};

// "<commit LSN, 16 hex digits>-<seq, 8 hex digits>": ordered like the feed
// (commit order, then position), and the same whenever the change is read.
std::string change_id(const Source& source);

// The Kafka key: {"table":"schema.name","key":{<key columns of the row>}}.
// For an update or delete the key comes from the new row, or from the old
// key/row when there is no new one. A truncate's key has no "key" member.
std::string kafka_key(const Change& change);

// The JSON value:
//   {"id":..., "op":"c|u|d|r|t", "table":"schema.name",
//    "key":{...}, "before":{...}|null, "after":{...}|null,
//    "unchanged":["col", ...],           (only when some are)
//    "source":{"lsn":"16/B374D848","xid":..., "commit_time":"...Z",
//              "seq":..., "change_lsn":"...", "backfill":..., "for":"..."}}
// Column values are typed from their PostgreSQL type: booleans, integers
// and floats as JSON numbers/booleans, numeric as an exact JSON number,
// json/jsonb embedded, NaN and infinities and everything else as strings.
// "backfill" (a backfill's id) is on the rows a backfill read (op "r").
// A marker has no key and null rows: op "e" carries
// "backfill":{"id":...,"rows":...,"where":"..."} (where only when given),
// op "g" carries "gap":{"from_lsn":"...","to_lsn":"..."}.
// "before" carries the whole old row under replica identity full, only the
// key columns when only the old key was sent, and null otherwise. A TOASTed
// value the change left alone is not sent by PostgreSQL: it is missing from
// "after" and named in "unchanged".
// Throws DecodeError for a binary-format value (the feed never asks for
// them) or a tuple whose width does not match the relation.
std::string to_json(const Change& change, const std::string& id);

// change_id(), kafka_key() and to_json() of one change at once, into the
// strings given (what they held is replaced): the key's columns are
// encoded once for both key and value.
void encode_change(const Change& change, std::string& id, std::string& key, std::string& value);

// One column's value as to_json() writes it. Throws DecodeError for an
// unchanged TOASTed value or a binary one.
void append_json_value(std::string& out, const Column& column, const Value& value);

}  // namespace millrace::changefeed
