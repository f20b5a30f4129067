#pragma once

// What a batch adds to a kind's declared views (kinds::ViewDecl; the
// tables and views are pg/declared_views.hpp's): each row (a record, or
// each of its lines) folded into its slot and group, with its count and
// each measure's exact term, then added to the view's table in the
// batch's transaction, as every aggregate is.

#include <compare>
#include <cstdint>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "millrace/core/timestamp.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/record.hpp"
#include "upsert.hpp"

namespace millrace::aggregate::detail {

struct ViewKey {
  core::TimestampUs slot;  // pg::view_slot()'s, in UTC
  std::vector<std::string> groups;
  friend auto operator<=>(const ViewKey&, const ViewKey&) = default;
};

// A slot's additions: its rows, and per measure (in the view's order) the
// sum of its terms (sums and averages) or their extreme (minima, maxima).
struct ViewSums {
  std::int64_t rows = 0;
  std::vector<WideSum> sums;
  std::vector<core::Int128> extremes;
};

class ViewDeltas {
 public:
  // `d` and `view` (one of d.views) must outlive this.
  ViewDeltas(const kinds::Declaration& d, const kinds::ViewDecl& view);

  void fold(const kinds::Record& record);
  const std::map<ViewKey, ViewSums>& slots() const { return slots_; }

 private:
  void fold_row(const kinds::Record& record, const std::vector<kinds::Value>* line);

  const kinds::Declaration* d_;
  const kinds::ViewDecl* v_;
  std::int64_t slot_us_;
  std::map<ViewKey, ViewSums> slots_;
};

// Adds `deltas` to the view's table.
void apply_view(pqxx::work& tx, const kinds::Declaration& d, const kinds::ViewDecl& view,
                const ViewDeltas& deltas);

// Drops the buckets of windows that ended longer than the view's retention
// before the newest record time of `topic` (none without a retention).
void prune_view(pqxx::work& tx, const kinds::ViewDecl& view, const std::string& topic);

}  // namespace millrace::aggregate::detail
