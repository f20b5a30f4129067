#include "view_sharing.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <variant>

#include "millrace/kinds/view_decl.hpp"
#include "millrace/pg/declared_views.hpp"

namespace millrace::aggregate::detail {

namespace {

using kinds::MeasureDecl;
using kinds::ViewDecl;
using kinds::ViewField;
using kinds::ViewMatch;

bool same_field(const ViewField& a, const ViewField& b) {
  return a.index == b.index && a.on_line == b.on_line && a.catalog == b.catalog;
}

bool same_match(const ViewMatch& a, const ViewMatch& b) {
  return same_field(a.field, b.field) && a.equals == b.equals;
}

bool has_match(const std::vector<ViewMatch>& in, const ViewMatch& m) {
  return std::any_of(in.begin(), in.end(), [&](const ViewMatch& x) { return same_match(x, m); });
}

// Whether the rows matching every condition of `a` and of `extra_a` are
// those matching every condition of `b` and of `extra_b` (the same
// conditions, in any order).
bool same_conditions(const std::vector<ViewMatch>& a, const std::vector<ViewMatch>& extra_a,
                     const std::vector<ViewMatch>& b, const std::vector<ViewMatch>& extra_b) {
  const auto within = [](const std::vector<ViewMatch>& of, const std::vector<ViewMatch>& in,
                         const std::vector<ViewMatch>& in_extra) {
    return std::all_of(of.begin(), of.end(), [&](const ViewMatch& m) {
      return has_match(in, m) || has_match(in_extra, m);
    });
  };
  return within(a, b, extra_b) && within(extra_a, b, extra_b) && within(b, a, extra_a) &&
         within(extra_b, a, extra_a);
}

// What a slot's ViewSums keeps of a measure: a count's rows, a sum's or an
// average's terms, a minimum's, a maximum's.
int kept_as(MeasureDecl::Op op) {
  switch (op) {
    case MeasureDecl::Op::kCount:
      return 0;
    case MeasureDecl::Op::kMin:
      return 2;
    case MeasureDecl::Op::kMax:
      return 3;
    default:
      return 1;  // a sum, an average (its terms' sum)
  }
}

// Whether `m` of `view` keeps what `s` of `source` does, of the same rows
// once `view`'s own conditions hold.
bool same_measure(const ViewDecl& view, const MeasureDecl& m, const ViewDecl& source,
                  const MeasureDecl& s) {
  if (kept_as(m.op) != kept_as(s.op) || m.of.size() != s.of.size()) return false;
  for (std::size_t i = 0; i < m.of.size(); ++i) {
    const auto &a = m.of[i], &b = s.of[i];
    if (!same_field(a.field, b.field) || a.percent_off != b.percent_off || a.percent != b.percent) {
      return false;
    }
  }
  if (m.negative_when.has_value() != s.negative_when.has_value() ||
      (m.negative_when && !same_field(*m.negative_when, *s.negative_when))) {
    return false;
  }
  // A count without a column of its own keeps no sum: the view's would lack
  // what it needs.
  if (m.op == MeasureDecl::Op::kCount && view.has_column(m) && !source.has_column(s)) return false;
  return same_conditions(view.where, m.where, view.where, s.where);
}

// A value of a condition as the text of a group of its field.
std::optional<std::string> group_text_of(const ViewMatch& m) {
  if (const auto* text = std::get_if<std::string>(&m.equals)) return *text;
  if (const auto* i = std::get_if<std::int64_t>(&m.equals)) return std::to_string(*i);
  return std::nullopt;  // a boolean field is no group
}

// A view's slot in microseconds, the largest for one window of all time.
std::int64_t slot_width(const ViewDecl& v) {
  if (v.window.all_time) return std::numeric_limits<std::int64_t>::max();
  return std::chrono::duration_cast<std::chrono::microseconds>(pg::view_slot(v.window)).count();
}

}  // namespace

std::optional<SlotSource> slot_source(const kinds::Declaration& d, std::size_t view,
                                      std::size_t source) {
  if (view == source) return std::nullopt;
  const auto& v = d.views[view];
  const auto& s = d.views[source];
  // A row of one is a row of the other: a record, or a line of it.
  if (v.over_lines != s.over_lines) return std::nullopt;
  // Each of the source's slots lies within one of the view's: slots are
  // aligned on the epoch, so a multiple of the source's width is.
  if (s.window.all_time && !v.window.all_time) return std::nullopt;
  if (!v.window.all_time && slot_width(v) % slot_width(s) != 0) return std::nullopt;
  SlotSource out;
  out.view = source;
  const auto group_of = [&](const ViewField& f) -> std::optional<std::size_t> {
    for (std::size_t k = 0; k < s.group_by.size(); ++k) {
      if (same_field(s.group_by[k], f)) return k;
    }
    return std::nullopt;
  };
  // The source's rows are the view's where they match the view's
  // conditions; those the source lacks must be told by its slots' groups.
  for (const auto& m : s.where) {
    if (!has_match(v.where, m)) return std::nullopt;
  }
  for (const auto& m : v.where) {
    if (has_match(s.where, m)) continue;
    const auto k = group_of(m.field);
    auto text = group_text_of(m);
    if (!k || !text) return std::nullopt;
    out.only.emplace_back(*k, std::move(*text));
  }
  for (const auto& g : v.group_by) {
    const auto k = group_of(g);
    if (!k) return std::nullopt;
    out.groups.push_back(*k);
  }
  for (const auto& m : v.measures) {
    if (m.op == MeasureDecl::Op::kCount && same_conditions(v.where, m.where, v.where, {})) {
      out.measures.push_back(kSlotRows);
      continue;
    }
    std::optional<std::size_t> found;
    for (std::size_t k = 0; k < s.measures.size() && !found; ++k) {
      if (same_measure(v, m, s, s.measures[k])) found = k;
    }
    if (!found) return std::nullopt;
    out.measures.push_back(*found);
  }
  return out;
}

std::vector<std::optional<SlotSource>> slot_sources(const kinds::Declaration& d) {
  const auto n = d.views.size();
  std::vector<std::vector<std::optional<SlotSource>>> from(n);
  std::vector<bool> folded(n, true);
  for (std::size_t v = 0; v < n; ++v) {
    from[v].resize(n);
    for (std::size_t s = 0; s < n; ++s) from[v][s] = slot_source(d, v, s);
  }
  for (std::size_t v = 0; v < n; ++v) {
    for (std::size_t s = 0; s < n; ++s) {
      // Of two views made of each other, the first is folded.
      if (from[v][s] && !(from[s][v] && s > v)) folded[v] = false;
    }
  }
  std::vector<std::optional<SlotSource>> out(n);
  // A view is made from a folded one; one whose sources are all made from
  // others is folded itself, and may then be another's source.
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t v = 0; v < n; ++v) {
      if (folded[v] || out[v]) continue;
      std::optional<std::size_t> best;
      for (std::size_t s = 0; s < n; ++s) {
        if (!folded[s] || !from[v][s]) continue;
        const auto wider = [&](std::size_t a, std::size_t b) {
          const auto& x = d.views[a];
          const auto& y = d.views[b];
          if (slot_width(x) != slot_width(y)) return slot_width(x) > slot_width(y);
          return x.group_by.size() < y.group_by.size();
        };
        if (!best || wider(s, *best)) best = s;
      }
      if (best) {
        out[v] = std::move(from[v][*best]);
      } else {
        folded[v] = true;
      }
      changed = true;
    }
  }
  return out;
}

}  // namespace millrace::aggregate::detail
