#include "view_deltas.hpp"

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "millrace/pg/array.hpp"
#include "millrace/pg/declared_views.hpp"
#include "millrace/pg/kind_tables.hpp"

namespace millrace::aggregate::detail {

using kinds::MeasureDecl;

namespace {

constexpr std::int64_t kPercentUnits = 100'000'000;  // 100 at a decimal's six decimals

// A group's text into `out`, whose capacity a reused key keeps.
void assign_group_text(std::string& out, const kinds::Value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, *i).ptr;
    out.assign(digits, end);
    return;
  }
  out.assign(std::get<std::string>(v));
}

// A number's value in units of its scale: a decimal's micro-units, an
// integer itself.
core::Int128 units(const kinds::Value& v) {
  if (const auto* d = std::get_if<core::Decimal>(&v)) return d->units();
  return std::get<std::int64_t>(v);
}

// A group's text for a product's fact: kinds::kUnknownProduct for no
// product (and for a product without a brand).
std::string_view fact_text(const std::optional<cache::ProductFacts>& p, kinds::CatalogFact fact) {
  if (!p) return kinds::kUnknownProduct;
  switch (fact) {
    case kinds::CatalogFact::kName:
      return p->name;
    case kinds::CatalogFact::kBrand:
      return p->brand ? std::string_view(*p->brand) : kinds::kUnknownProduct;
    default:
      return p->category;
  }
}

// Whether `v` is the value a condition wants.
bool matches(const kinds::Value& v, const kinds::ViewMatch& m) {
  return std::visit(
      [&](const auto& want) {
        using T = std::decay_t<decltype(want)>;
        const auto* have = std::get_if<T>(&v);
        return have != nullptr && *have == want;
      },
      m.equals);
}

}  // namespace

std::uint64_t groups_hash(const std::vector<std::string>& groups) {
  std::uint64_t h = groups.size();
  for (const auto& g : groups) {
    h = (h ^ std::hash<std::string_view>{}(g)) * 0x9E3779B97F4A7C15ULL;
  }
  return h;
}

ViewDeltas::ViewDeltas(const kinds::Declaration& d, const kinds::ViewDecl& view,
                       ProductLookup catalog)
    : d_(&d),
      v_(&view),
      catalog_(std::move(catalog)),
      slot_us_(std::chrono::duration_cast<std::chrono::microseconds>(pg::view_slot(view.window))
                   .count()) {
  if (view.needs_catalog() && !catalog_) {
    throw std::logic_error("declared view " + view.name +
                           " groups by the catalog, and was given none");
  }
}

void ViewDeltas::fold(const kinds::Record& record) {
  if (!v_->over_lines) {
    fold_row(record, nullptr);
    return;
  }
  for (const auto& line : record.lines) fold_row(record, &line);
}

void ViewDeltas::fold_row(const kinds::Record& record, const std::vector<kinds::Value>* line) {
  const auto value = [&](const kinds::ViewField& f) -> const kinds::Value& {
    return f.on_line ? (*line)[f.index] : record.values[f.index];
  };
  const auto all = [&](const std::vector<kinds::ViewMatch>& where) {
    return std::all_of(where.begin(), where.end(),
                       [&](const kinds::ViewMatch& m) { return matches(value(m.field), m); });
  };
  if (!all(v_->where)) return;
  const auto ts = record.time(*d_);
  // The row's key, in a key reused from row to row (its strings keep their
  // capacity): a row whose slot and groups are already there allocates
  // nothing. One window of all time: every row's slot is the same.
  key_.slot = v_->window.all_time ? 0 : ts - (((ts % slot_us_) + slot_us_) % slot_us_);
  key_.groups.resize(v_->group_by.size());
  // A row's product is looked up once, for all its groups by the catalog.
  std::optional<std::optional<cache::ProductFacts>> product;
  for (std::size_t i = 0; i < v_->group_by.size(); ++i) {
    const auto& g = v_->group_by[i];
    if (g.catalog == kinds::CatalogFact::kNone) {
      assign_group_text(key_.groups[i], value(g));
      continue;
    }
    if (!product) {
      const auto* sku = std::get_if<std::int64_t>(&value(g));
      product.emplace(sku ? catalog_(*sku) : std::nullopt);
    }
    key_.groups[i].assign(fact_text(*product, g.catalog));
  }
  key_.hash = groups_hash(key_.groups);
  auto found = slots_.find(key_);
  if (found == slots_.end()) found = slots_.emplace(key_, ViewSums{}).first;
  auto& s = found->second;
  const auto n = v_->measures.size();
  if (s.rows == 0) {
    s.sums.resize(n);
    s.extremes.resize(n);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto& m = v_->measures[i];
    if (!all(m.where)) continue;
    if (m.op == MeasureDecl::Op::kCount) {
      if (v_->has_column(m)) s.sums[i].add(1);
      continue;
    }
    core::Int128 term = 1;
    for (const auto& factor : m.of) {
      const auto u = units(value(factor.field));
      term *= factor.percent_off ? kPercentUnits - u : u;
    }
    if (m.negative_when && std::get<bool>(value(*m.negative_when))) term = -term;
    if (m.op == MeasureDecl::Op::kMin) {
      s.extremes[i] = s.rows == 0 ? term : std::min(s.extremes[i], term);
    } else if (m.op == MeasureDecl::Op::kMax) {
      s.extremes[i] = s.rows == 0 ? term : std::max(s.extremes[i], term);
    } else {
      s.sums[i].add(term);
    }
  }
  ++s.rows;
}

void ViewDeltas::add_slots(const ViewDeltas& source, const SlotSource& how) {
  const auto n = v_->measures.size();
  for (const auto& slot : source.slots()) {
    // Named, not bound: a lambda may not capture a structured binding
    // before C++20's fix, which Debian's clang 14 lacks.
    const ViewKey& from = slot.first;
    const ViewSums& s = slot.second;
    if (!std::all_of(how.only.begin(), how.only.end(),
                     [&](const auto& only) { return from.groups[only.first] == only.second; })) {
      continue;
    }
    const auto ts = from.slot;
    key_.slot = v_->window.all_time ? 0 : ts - (((ts % slot_us_) + slot_us_) % slot_us_);
    key_.groups.resize(how.groups.size());
    for (std::size_t i = 0; i < how.groups.size(); ++i) {
      key_.groups[i].assign(from.groups[how.groups[i]]);
    }
    key_.hash = groups_hash(key_.groups);
    auto found = slots_.find(key_);
    if (found == slots_.end()) found = slots_.emplace(key_, ViewSums{}).first;
    auto& into = found->second;
    if (into.rows == 0) {
      into.sums.resize(n);
      into.extremes.resize(n);
    }
    for (std::size_t i = 0; i < n; ++i) {
      const auto& m = v_->measures[i];
      const auto k = how.measures[i];
      if (k == kSlotRows) {
        if (v_->has_column(m)) into.sums[i].add(s.rows);
      } else if (m.op == MeasureDecl::Op::kMin) {
        into.extremes[i] =
            into.rows == 0 ? s.extremes[k] : std::min(into.extremes[i], s.extremes[k]);
      } else if (m.op == MeasureDecl::Op::kMax) {
        into.extremes[i] =
            into.rows == 0 ? s.extremes[k] : std::max(into.extremes[i], s.extremes[k]);
      } else if (m.op != MeasureDecl::Op::kCount || v_->has_column(m)) {
        for (const auto part : s.sums[k].parts) into.sums[i].add(part);
      }
    }
    into.rows += s.rows;
  }
}

namespace {

// The buckets of a batch's slots, where a view's buckets are local hours,
// days or weeks: PostgreSQL maps each distinct slot once (bucket_sql(), its
// time zone database), in microseconds since the epoch both ways.
std::map<core::TimestampUs, core::TimestampUs> slot_buckets(
    pqxx::work& tx, const kinds::ViewWindow& w, const std::map<ViewKey, ViewSums>& slots) {
  pg::ArrayLiteral distinct;
  std::optional<core::TimestampUs> last;
  for (const auto& [key, s] : slots) {  // in slot order
    if (last == key.slot) continue;
    last = key.slot;
    distinct.add(core::format_timestamp(key.slot));
  }
  std::map<core::TimestampUs, core::TimestampUs> out;
  for (const auto& r :
       tx.exec_params("SELECT (extract(epoch FROM s) * 1000000)::bigint, (extract(epoch FROM " +
                          pg::bucket_sql(w, "s") +
                          ") * 1000000)::bigint FROM unnest($1::timestamptz[]) AS u(s)",
                      distinct.take())) {
    out.emplace(r[0].as<core::TimestampUs>(), r[1].as<core::TimestampUs>());
  }
  return out;
}

// `from` added into `into`: what the upsert's GROUP BY and its ON CONFLICT
// would make of the two rows, exactly (sums in parts, extremes compared).
void add_sums(ViewSums& into, const ViewSums& from, const kinds::ViewDecl& view) {
  into.rows += from.rows;
  for (std::size_t i = 0; i < view.measures.size(); ++i) {
    const auto op = view.measures[i].op;
    if (op == MeasureDecl::Op::kMin) {
      into.extremes[i] = std::min(into.extremes[i], from.extremes[i]);
    } else if (op == MeasureDecl::Op::kMax) {
      into.extremes[i] = std::max(into.extremes[i], from.extremes[i]);
    } else {
      for (const auto part : from.sums[i].parts) into.sums[i].add(part);
    }
  }
}

}  // namespace

void apply_view(pqxx::work& tx, const kinds::Declaration& d, const kinds::ViewDecl& view,
                const ViewDeltas& deltas) {
  if (deltas.slots().empty()) return;
  // Slots narrower than the buckets (a zone's hours, days, weeks) summed
  // per bucket here: the upsert then sends and adds a row per bucket and
  // group, not one per slot (a sku's day was up to 96 rows a day).
  const bool in_slots = !view.window.all_time && pg::view_slot(view.window) != view.window.hop;
  std::map<ViewKey, ViewSums> buckets;
  if (in_slots) {
    const auto bucket_of = slot_buckets(tx, view.window, deltas.slots());
    for (const auto& [key, s] : deltas.slots()) {
      auto [it, fresh] = buckets.try_emplace(ViewKey{bucket_of.at(key.slot), key.groups}, s);
      if (!fresh) add_sums(it->second, s, view);
    }
  }
  const auto& slots = in_slots ? buckets : deltas.slots();
  using enum Column::Combine;
  const bool windowed = !view.window.all_time;
  const bool row_count = !view.adopts_table();
  std::vector<Column> columns;
  if (windowed) columns.push_back({pg::view_time_column(view), "timestamptz", kKey, {}});
  for (const auto& g : view.group_by) {
    columns.push_back({pg::view_group_column(d, g), pg::view_group_type(d, g), kKey, {}});
  }
  if (row_count) columns.push_back({"row_count", "bigint", kSum, {}});
  for (const auto& m : view.measures) {
    if (!view.has_column(m)) continue;
    const auto combine = m.op == MeasureDecl::Op::kMin   ? kMin
                         : m.op == MeasureDecl::Op::kMax ? kMax
                                                         : kSum;
    columns.push_back({m.as, pg::view_measure_type(view, m), combine, {}});
  }
  for (const auto& [key, s] : slots) {
    // A sum's further parts go in rows of their own, which add nothing else
    // (an extreme repeated is the same extreme).
    std::size_t rows = 1;
    for (const auto& sum : s.sums) rows = std::max(rows, sum.parts.size());
    for (std::size_t row = 0; row < rows; ++row) {
      std::size_t c = 0;
      if (windowed) columns[c++].values.add(core::format_timestamp(key.slot));
      for (const auto& g : key.groups) columns[c++].values.add(g);
      if (row_count) columns[c++].values.add(row == 0 ? s.rows : 0);
      for (std::size_t i = 0; i < view.measures.size(); ++i) {
        const auto& m = view.measures[i];
        if (!view.has_column(m)) continue;
        if (m.op == MeasureDecl::Op::kMin || m.op == MeasureDecl::Op::kMax) {
          columns[c++].values.add(scaled_text(s.extremes[i], m.scale, 0));
        } else {
          const auto& parts = s.sums[i].parts;
          columns[c++].values.add(row < parts.size() ? scaled_text(parts[row], m.scale, 0) : "0");
        }
      }
    }
  }
  upsert(tx, pg::view_table(view), columns);
}

void prune_view(pqxx::work& tx, const kinds::ViewDecl& view, const std::string& topic) {
  if (!view.retention) return;
  const auto& w = view.window;
  const std::string zone = "'" + w.time_zone + "'";
  const auto size_minutes = std::to_string(w.size.count());
  // A bucket's last window ends `size` after it begins, in local time.
  tx.exec_params("DELETE FROM " + pg::view_table(view) + " WHERE ((bucket AT TIME ZONE " + zone +
                     ") + make_interval(mins => " + size_minutes + ")) AT TIME ZONE " + zone +
                     " <= (SELECT max(max_event_ts) FROM aggregator_partitions WHERE topic = $1) "
                     "- make_interval(secs => $2)",
                 topic, static_cast<double>(view.retention->count()) / 1000.0);
}

}  // namespace millrace::aggregate::detail
