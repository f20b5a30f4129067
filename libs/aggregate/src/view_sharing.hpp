#pragma once

// Views whose slots are made from another view's instead of from every
// row: a view whose groups are among another's, whose rows are the
// other's narrowed by conditions on the other's groups, whose measures are
// the other's (the same terms of the same rows), and whose slots are the
// other's or a multiple of them (or one of all time), is the other's slots
// summed, exactly (the store event's agg_daily from agg_hourly, its
// agg_categories from agg_hourly's sale events). A batch then folds each
// row into fewer views (docs/benchmarks.md, issue 79).

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "millrace/kinds/declaration.hpp"

namespace millrace::aggregate::detail {

// How a view's slots are made from its source's.
struct SlotSource {
  std::size_t view = 0;  // the source, in the declaration's views
  // The source's slots it sums: those whose group (an index into the
  // source's group_by) has the text (a condition of the view's where that
  // the source's lacks).
  std::vector<std::pair<std::size_t, std::string>> only;
  std::vector<std::size_t> groups;  // each group's index in the source's group_by
  // Each measure's index in the source's measures, or kSlotRows: a count
  // of every row of the view is its source's slots' rows.
  std::vector<std::size_t> measures;
};

inline constexpr std::size_t kSlotRows = static_cast<std::size_t>(-1);

// How declared view `view` is made from view `source`'s slots, nullopt
// when it cannot be, exactly.
std::optional<SlotSource> slot_source(const kinds::Declaration& d, std::size_t view,
                                      std::size_t source);

// For each of the declaration's views, the folded view its slots are made
// from, or nullopt for a view folded from the rows. A source is itself
// folded; of two views made of each other (the same view declared twice)
// the first is folded; among several sources, the one of the widest slots,
// then of the fewest groups.
std::vector<std::optional<SlotSource>> slot_sources(const kinds::Declaration& d);

}  // namespace millrace::aggregate::detail
