#pragma once

// What a batch adds to a kind's declared views (kinds::ViewDecl; the
// tables and views are pg/declared_views.hpp's): each row (a record, or
// each of its lines) folded into its slot and group, with its count and
// each measure's exact term, then added to the view's table in the
// batch's transaction, as every aggregate is.

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "millrace/cache/lookup.hpp"
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

// The catalog's product of a sku as it is now, nullopt for one it does not
// know: the aggregator's is its cache::CatalogLookup's (KindAggregates).
using ProductLookup = std::function<std::optional<cache::ProductFacts>(std::int64_t sku)>;

class ViewDeltas {
 public:
  // `d` and `view` (one of d.views) must outlive this. A view grouped by
  // the catalog (ViewDecl::needs_catalog) needs `catalog`, read as each row
  // is folded: a row gets its product's facts as they are then.
  ViewDeltas(const kinds::Declaration& d, const kinds::ViewDecl& view, ProductLookup catalog = {});

  void fold(const kinds::Record& record);
  const std::map<ViewKey, ViewSums>& slots() const { return slots_; }

 private:
  void fold_row(const kinds::Record& record, const std::vector<kinds::Value>* line);

  const kinds::Declaration* d_;
  const kinds::ViewDecl* v_;
  ProductLookup catalog_;
  std::int64_t slot_us_;
  std::map<ViewKey, ViewSums> slots_;
  ViewKey key_{};  // the row being folded's, reused
};

// Adds `deltas` to the view's table.
void apply_view(pqxx::work& tx, const kinds::Declaration& d, const kinds::ViewDecl& view,
                const ViewDeltas& deltas);

// Drops the buckets of windows that ended longer than the view's retention
// before the newest record time of `topic` (none without a retention).
void prune_view(pqxx::work& tx, const kinds::ViewDecl& view, const std::string& topic);

}  // namespace millrace::aggregate::detail
