#pragma once

// A view a retailer declares ("views" in a kind's declaration, read by
// view_decl.cpp; docs/views.md, "Declared views"): records (or their lines)
// grouped by any of the kind's fields, in tumbling or hopping windows
// aligned in a time zone, with counts, sums, minima, maxima and averages of
// fields or of products of fields, exact, and optionally the top N groups
// of each window. millrace-aggregator keeps each in a table of its own,
// folded in the transaction of its offsets like every aggregate; the view
// of the same name reads it (pg/declared_views.cpp).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace millrace::kinds {

// A product's fact from the catalog, which a view can group by
// ({"catalog": "category"}): the kind's enrichment names the sku.
enum class CatalogFact : std::uint8_t { kNone, kName, kBrand, kCategory };

// A field a view reads: one of the record's, or of its lines'. A group by
// the catalog reads the kind's sku field (Declaration::enrich) and groups by
// `catalog`, the product's fact as the catalog holds it when the row is
// folded: kUnknownProduct for a sku the catalog does not know (or no sku),
// and for a product without a brand.
struct ViewField {
  std::size_t index = 0;
  bool on_line = false;
  CatalogFact catalog = CatalogFact::kNone;
};

// The group of a row whose product the catalog does not know. A catalog's
// name and category are never empty, so it names no product's.
inline constexpr std::string_view kUnknownProduct = "";

// One factor of a measure's product: a field's value, or, for a
// percentage (a discount), 1 − value / 100 (`percent_off`) or value / 100
// (`percent`).
struct ViewFactor {
  ViewField field;
  bool percent_off = false;
  bool percent = false;
};

// A condition on a row ("where": {"event_type": "sale_event"}): the
// field's value equals `equals` (a boolean, an integer or a text).
struct ViewMatch {
  ViewField field;
  std::variant<bool, std::int64_t, std::string> equals;
};

struct MeasureDecl {
  enum class Op : std::uint8_t { kCount, kSum, kMin, kMax, kAvg };
  std::string as;  // its column in the view
  Op op = Op::kCount;
  // The product whose sum, minimum, maximum or average is kept: empty for
  // a count. A term is exact at `scale` decimals (6 per decimal factor, 8
  // per percent_off factor, 0 per integer).
  std::vector<ViewFactor> of;
  int scale = 0;
  int avg_scale = 6;  // an average's decimals, rounded half away from zero
  // The rows it counts or sums: those matching every condition (all when
  // empty).
  std::vector<ViewMatch> where;
  // A boolean field: a sum's term is negated where it is true (a return's
  // units are taken back).
  std::optional<ViewField> negative_when;
};

// Windows of `size`, starting every `hop` (tumbling: hop == size), aligned
// in `time_zone`: an hour, a day or a week (from Monday) of local time, so
// that a day across a daylight-saving change lasts 23 or 25 hours. Minutes
// that divide 15 are the same in every zone; other sizes below a day are
// aligned in UTC and taken in UTC only.
struct ViewWindow {
  std::chrono::minutes size{60};
  std::chrono::minutes hop{60};
  std::string time_zone = "UTC";
  // "window": "all": one window of all time, no window column (a view
  // kept in a table of its own only).
  bool all_time = false;
  bool tumbling() const { return hop == size; }
};

// The first `n` groups of each window (and of each value of `per`), by the
// measure `by`, largest first (smallest with `ascending`). Ties are broken
// by `then` (fields of group_by, ascending) and the window holds exactly n
// rows; without `then` every group tied with the n-th is kept and shares
// its rank.
struct TopDecl {
  std::size_t n = 10;
  std::string by;  // a measure's `as`
  bool ascending = false;
  std::vector<std::size_t> then;  // indices into group_by
  std::vector<std::size_t> per;   // indices into group_by
};

struct ViewDecl {
  std::string name;  // the PostgreSQL view; its table is agg_view_<name>
  // A table of its own, made by a migration, which the view adopts (the
  // store event's agg_hourly): its window's column is window_start, each
  // measure a column of its own (a count, and a sum of integers, bigint),
  // no PostgreSQL view is made over it (the migrations' read it), and it
  // is never made, dropped or filled by the declaration. Empty: the view's
  // own agg_view_<name>.
  std::string table;
  std::string description;
  ViewWindow window;
  std::vector<ViewField> group_by;
  std::vector<MeasureDecl> measures;
  std::optional<TopDecl> top;
  // Tumbling windows only: windows that ended longer ago than this before
  // the newest record time are dropped; nullopt: kept for ever.
  std::optional<std::chrono::milliseconds> retention;
  // A group or a factor names a field of the lines: every line is a row of
  // the view (its record's fields read with it), and a count counts lines.
  bool over_lines = false;
  // The rows the view folds: those matching every condition (all when
  // empty).
  std::vector<ViewMatch> where;

  bool adopts_table() const { return !table.empty(); }
  // Whether a measure has a column of its own in the table: a count has
  // none (it is the table's row_count) unless it counts only some rows or
  // the table is adopted.
  bool has_column(const MeasureDecl& m) const {
    return m.op != MeasureDecl::Op::kCount || adopts_table() || !m.where.empty();
  }

  // A group is a product's fact from the catalog.
  bool needs_catalog() const {
    for (const auto& g : group_by) {
      if (g.catalog != CatalogFact::kNone) return true;
    }
    return false;
  }
};

// Whether any of `views` is kept in a table of its own (agg_view_<name>),
// which its aggregator claims and fills: not a view adopting a
// migration's table.
inline bool fills_any(const std::vector<ViewDecl>& views) {
  for (const auto& v : views) {
    if (!v.adopts_table()) return true;
  }
  return false;
}

}  // namespace millrace::kinds
