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
#include <utility>
#include <vector>

#include "millrace/cache/lookup.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/record.hpp"
#include "upsert.hpp"
#include "view_sharing.hpp"

namespace millrace::aggregate::detail {

// The hash of a key's groups' texts.
std::uint64_t groups_hash(const std::vector<std::string>& groups);

struct ViewKey {
  ViewKey() = default;
  ViewKey(core::TimestampUs s, std::vector<std::string> g)
      : slot(s), groups(std::move(g)), hash(groups_hash(groups)) {}

  core::TimestampUs slot = 0;  // pg::view_slot()'s, in UTC
  std::vector<std::string> groups;
  // groups_hash(groups), kept with them. The map's order compares it before
  // the texts, so that a lookup's walk reads the slot and the hash in each
  // node it passes, and the groups' texts (a line or two more, missed in
  // the cache) only in the node it finds (docs/benchmarks.md, issue 79).
  std::uint64_t hash = 0;

  friend bool operator==(const ViewKey&, const ViewKey&) = default;
  friend std::strong_ordering operator<=>(const ViewKey& a, const ViewKey& b) {
    if (const auto c = a.slot <=> b.slot; c != 0) return c;
    if (const auto c = a.hash <=> b.hash; c != 0) return c;
    return a.groups <=> b.groups;
  }
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
  // Adds `source`'s slots, made into this view's as `how` says
  // (view_sharing.hpp): what folding their rows would have added.
  void add_slots(const ViewDeltas& source, const SlotSource& how);
  void clear() { slots_.clear(); }
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
