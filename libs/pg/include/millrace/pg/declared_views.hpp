#pragma once

// A kind's declared views (kinds::ViewDecl; docs/views.md, "Declared
// views") in PostgreSQL. Each has a table, agg_view_<name>, one row per
// bucket (a hop of its window, aligned in its time zone) and group: the
// rows folded (row_count) and each measure's sum, minimum or maximum, exact
// in numeric. The view <name> reads it: every window summed from its
// buckets (a hopping window from size / hop of them), averages computed
// then, rounded half away from zero, and with a top N only the first N
// groups of each window, with their rank.
//
// The aggregator folds a row into the bucket of a "slot" (view_slot()):
// the bucket itself when the buckets are the same instants in every zone,
// else the quarter hour of UTC the row falls in, which PostgreSQL maps to
// its local hour, day or week (bucket_sql(): the time zone database is
// PostgreSQL's), once per distinct slot of a batch; the aggregator then
// adds each bucket's slots together and upserts a row per bucket.

#include <chrono>
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "millrace/kinds/declaration.hpp"

namespace millrace::pg {

// agg_view_<name>, or the table the view adopts (kinds::ViewDecl::table).
std::string view_table(const kinds::ViewDecl& v);
// The column of a window's start (or bucket's) in the view's table:
// bucket, or window_start in a table the view adopts.
std::string view_time_column(const kinds::ViewDecl& v);
// The type of a measure's column in the view's table: numeric, but bigint
// for a count, and in a table the view adopts for a sum of integers too.
std::string view_measure_type(const kinds::ViewDecl& v, const kinds::MeasureDecl& m);

// The width of the slots the aggregator folds rows into, aligned to the
// Unix epoch in UTC.
std::chrono::minutes view_slot(const kinds::ViewWindow& w);

// SQL mapping `slot` (a timestamptz expression: a slot's start) to its
// bucket's start.
std::string bucket_sql(const kinds::ViewWindow& w, const std::string& slot);

// The column type of a group field.
std::string view_group_type(const kinds::Declaration& d, const kinds::ViewField& f);
// A group field's column.
const std::string& view_group_column(const kinds::Declaration& d, const kinds::ViewField& f);

// CREATE TABLE IF NOT EXISTS and CREATE OR REPLACE VIEW statements for
// the view `v` of `d`, or for every view `d` declares, in order: none for a
// view that adopts a migration's table.
std::vector<std::string> declared_view_statements(const kinds::Declaration& d,
                                                  const kinds::ViewDecl& v);
std::vector<std::string> declared_view_statements(const kinds::Declaration& d);

// What a view's table is made for: its window and its columns with their
// types. A table of another shape holds sums by other keys or buckets.
std::string view_shape(const kinds::Declaration& d, const kinds::ViewDecl& v);

// What sync_declared_views() does with a view whose table was made for
// another shape, and with one the declaration no longer has.
enum class ViewChanges : std::uint8_t {
  // Drops it, and makes a changed one again (to be filled): the kind's
  // aggregator and `millrace migrate`, which own the views.
  kRebuild,
  // Leaves both as they are (the sink, the API: a service of an older or
  // newer declaration must not undo the aggregator's).
  kKeep,
};

// Checks that each table a view adopts has the columns the view keeps
// (core::InfraError, fatal, naming both, when not: a migration made it, and
// the declaration never makes or changes it). Makes every other view `d`
// declares that is missing (its table, the view over
// it) and records it in aggregator_views (migration 0021): a table made
// now is `unfilled` until its aggregator claims it (claim_view_fills); one
// made before shapes were recorded is taken as its aggregator's, `filled`.
// Refuses (core::InfraError, fatal) a view named like a table, and a time
// zone PostgreSQL does not know. Caller contract: inside the kind's
// advisory lock (ensure_kind_tables), by a role that may make tables.
void sync_declared_views(pqxx::work& tx, const kinds::Declaration& d, ViewChanges changes);

// The kind's aggregator, as it connects, before it folds anything:
// claims the kind's `unfilled` views. Each becomes `filling`, with a range
// per partition of `topic` that `group` has consumed (its stored offsets:
// the records before them are the fill's, those after, the aggregator's
// own), or `filled` at once when the group has consumed nothing. Returns
// how many views it claimed. Throws pqxx errors (the caller classifies).
std::int64_t claim_view_fills(pqxx::connection& connection, const std::string& kind,
                              const std::string& group, const std::string& topic);

// A partition of a view being filled: the records before `until` are the
// fill's, and those before `done` are folded.
struct FillRange {
  std::int32_t partition = 0;
  std::int64_t until = 0;
  std::int64_t done = 0;
};
struct ViewFill {
  std::string view;
  std::string topic;
  std::vector<FillRange> partitions;  // by partition
};
// The kind's views being filled, with their ranges (none while the
// schema lacks the migrations that record them).
std::vector<ViewFill> pending_view_fills(pqxx::connection& connection, const std::string& kind);

// Where a view not filled yet stands: `unfilled` (made, not claimed by its
// aggregator yet) or `filling`, with the offsets its fill has read of those
// it must read (both 0 while unfilled).
struct ViewFillState {
  std::string state;
  std::int64_t done = 0;
  std::int64_t until = 0;
};
// The view's state in `tx` (the snapshot its rows are read in); nullopt
// once it is filled, for a view that is not declared, or when the session
// may not read aggregator_views and aggregator_view_fills.
std::optional<ViewFillState> view_fill_state(pqxx::transaction_base& tx, const std::string& view);
// A sentence for a reader of the view `view` in that state.
std::string view_fill_note(const std::string& view, const ViewFillState& state);
// The two above, in a transaction of their own.
std::optional<std::string> view_fill_note(pqxx::connection& connection, const std::string& view);

// In the transaction that adds a chunk's folds to the view: the range's
// records before `done` are folded now, `missing` more were past the log
// start. Throws core::InfraError (retryable) when another fill moved the
// range on meanwhile (the caller's transaction then rolls back). Marks the
// view `filled` once every range is done.
void advance_view_fill(pqxx::work& tx, const std::string& view, const FillRange& range,
                       std::int64_t done, std::int64_t missing);

}  // namespace millrace::pg
