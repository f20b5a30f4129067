#include "view_decl.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include "millrace/core/values.hpp"
#include "millrace/kinds/registry.hpp"

namespace millrace::kinds::detail {

namespace {

using std::chrono::minutes;

constexpr minutes kDay{1440};
constexpr minutes kWeek{7 * 1440};
constexpr minutes kQuarterHour{15};

// Columns every view's table or view has besides its groups and measures.
const std::set<std::string> kReserved = {"bucket", "row_count", "window_start", "window_end",
                                         "rank"};

// The catalog's facts a view can group by; a group's column is
// product_<fact>, as the sink's enriched columns (pg::kEnrichmentColumns).
constexpr std::array<std::pair<std::string_view, CatalogFact>, 3> kFacts = {
    {{"name", CatalogFact::kName},
     {"brand", CatalogFact::kBrand},
     {"category", CatalogFact::kCategory}}};

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

class ViewReader {
 public:
  ViewReader(const DocReader& r, const Declaration& d) : r_(r), d_(d) {}

  ViewDecl view(const Json& v, const std::string& at) const {
    r_.only(v, at,
            {"name", "table", "description", "window", "where", "group_by", "measures", "top",
             "retention", "$comment"});
    ViewDecl out;
    out.name = r_.identifier(r_.need(v, "name", at), at + ".name");
    if (out.name.size() > 54)
      r_.fail(at + ".name", "takes at most 54 characters (agg_view_<name>)");
    if (const Json* t = v.member("table")) out.table = r_.identifier(*t, at + ".table");
    if (const Json* desc = v.member("description")) {
      out.description = r_.string(*desc, at + ".description");
    }
    out.window = window(r_.need(v, "window", at), at + ".window", out.adopts_table());
    if (const Json* w = v.member("where")) out.where = conditions(*w, at + ".where");
    // An adopted table has no bucket or row_count, but its window's column.
    std::set<std::string> columns =
        out.adopts_table() ? std::set<std::string>{"window_start"} : kReserved;
    const auto claim = [&](const std::string& column, const std::string& where) {
      if (!columns.insert(column).second) {
        r_.fail(where, quoted(column) + " is already a column of the view");
      }
    };
    if (const Json* g = v.member("group_by")) {
      if (g->type != Json::Type::kArray || g->items.size() > 4) {
        r_.fail(at + ".group_by",
                "must be an array of at most 4 field names or {\"catalog\": fact}");
      }
      for (std::size_t i = 0; i < g->items.size(); ++i) {
        const std::string where = at + ".group_by[" + std::to_string(i) + "]";
        if (g->items[i].type == Json::Type::kObject) {
          const auto f = catalog_group(g->items[i], where);
          claim(catalog_column(f.catalog), where);
          out.over_lines = out.over_lines || f.on_line;
          out.group_by.push_back(f);
          continue;
        }
        const auto f = field(g->items[i], where);
        const auto& decl = of(f);
        if (decl.type != ValueType::kText && decl.type != ValueType::kInteger &&
            decl.type != ValueType::kUuid) {
          r_.fail(where, "field " + quoted(decl.name) +
                             " must be text, integer or uuid (the time is the window's)");
        }
        if (decl.pii) r_.fail(where, "field " + quoted(decl.name) + " is personal data");
        claim(decl.column, where);
        out.over_lines = out.over_lines || f.on_line;
        out.group_by.push_back(f);
      }
    }
    const Json& m = r_.need(v, "measures", at);
    if (m.type != Json::Type::kArray || m.items.empty() || m.items.size() > 16) {
      r_.fail(at + ".measures", "must be an array of 1 to 16 measures");
    }
    for (std::size_t i = 0; i < m.items.size(); ++i) {
      const std::string where = at + ".measures[" + std::to_string(i) + "]";
      auto measure = this->measure(m.items[i], where);
      claim(measure.as, where + ".as");
      for (const auto& factor : measure.of) out.over_lines = out.over_lines || factor.field.on_line;
      out.measures.push_back(std::move(measure));
    }
    if (const Json* t = v.member("top")) out.top = top(*t, at + ".top", out);
    if (const Json* k = v.member("retention")) {
      const std::string where = at + ".retention";
      const auto keep = duration(*k, where);
      // A hopping window's buckets are shared with its neighbours: dropping
      // the old ones would leave the windows that ended partly summed.
      if (!out.window.tumbling()) {
        r_.fail(where, "applies to tumbling windows only (a hopping window's buckets are shared)");
      }
      if (keep < out.window.size) {
        r_.fail(where,
                "keeps less than one window (" + core::format_duration(out.window.size) + ")");
      }
      out.retention = keep;
    }
    if (out.over_lines && !d_.lines) r_.fail(at, "names a field of lines the kind has not");
    if (out.adopts_table()) adopted(v, at, out);
    return out;
  }

 private:
  // A view kept in a table a migration made: summed when read by the
  // migration's views, so no top, no retention and no average; a window of
  // UTC hours or days, or of all time.
  void adopted(const Json& v, const std::string& at, const ViewDecl& out) const {
    for (const char* member : {"top", "retention"}) {
      if (v.member(member)) r_.fail(at + "." + member, "is not for a view with a \"table\"");
    }
    const auto& w = out.window;
    if (!w.all_time && (!w.tumbling() || w.time_zone != "UTC")) {
      r_.fail(at + ".window", "of a view with a \"table\" is tumbling in UTC, or \"all\"");
    }
    for (std::size_t i = 0; i < out.measures.size(); ++i) {
      const auto op = out.measures[i].op;
      if (op != MeasureDecl::Op::kCount && op != MeasureDecl::Op::kSum) {
        r_.fail(at + ".measures[" + std::to_string(i) + "].op",
                "of a view with a \"table\" is count or sum");
      }
    }
  }

  // {"field": value, ...}: a row matches when each field has its value (a
  // boolean's true or false, an integer, a text of the field's values).
  std::vector<ViewMatch> conditions(const Json& j, const std::string& where) const {
    if (j.type != Json::Type::kObject || j.members.empty() || j.members.size() > 4) {
      r_.fail(where, "must be an object of 1 to 4 fields and the values they must have");
    }
    std::vector<ViewMatch> out;
    for (const auto& [key, value] : j.members) {
      const std::string at = where + "." + std::string(key);
      Json name;
      name.type = Json::Type::kString;
      name.text = key;
      ViewMatch m{field(name, at), false};
      if (m.field.on_line) r_.fail(at, "names a field of the lines, not of the record");
      const auto& f = of(m.field);
      if (f.type == ValueType::kBoolean && value.type == Json::Type::kBool) {
        m.equals = value.boolean;
      } else if (f.type == ValueType::kInteger && value.type == Json::Type::kNumber) {
        m.equals = r_.integer(value, at, f.int_min, f.int_max);
      } else if (f.type == ValueType::kText && value.type == Json::Type::kString) {
        const std::string text(value.text);
        if (!f.values.empty() &&
            std::find(f.values.begin(), f.values.end(), text) == f.values.end()) {
          r_.fail(at, quoted(text) + " is not one of the field's values");
        }
        m.equals = text;
      } else {
        r_.fail(at, "compares a boolean, integer or text field with a value of its type");
      }
      out.push_back(std::move(m));
    }
    return out;
  }

  const FieldDecl& of(const ViewField& f) const {
    return f.on_line ? d_.lines->fields[f.index] : d_.fields[f.index];
  }

  // A field of the record or of its lines, by name: required, so that
  // every row has its value.
  ViewField field(const Json& j, const std::string& where) const {
    const auto name = r_.string(j, where);
    std::optional<ViewField> out;
    if (const auto i = d_.find(name)) out = ViewField{*i, false};
    if (d_.lines) {
      for (std::size_t i = 0; i < d_.lines->fields.size(); ++i) {
        if (d_.lines->fields[i].name != name) continue;
        if (out) r_.fail(where, quoted(name) + " names a field of the record and of its lines");
        out = ViewField{i, true};
      }
    }
    if (!out) r_.fail(where, "names no field (" + quoted(name) + ")");
    // The record's type is always there: from its header, if not its body.
    const bool typed = !out->on_line && d_.type_header && *d_.type_header == out->index;
    if (!of(*out).required && !typed) {
      r_.fail(where, "field " + quoted(name) + " must be required");
    }
    return *out;
  }

  // {"catalog": "category"}: a product's fact, by the sku the kind's
  // enrichment names (of the record, or of its lines: then every line is a
  // row, grouped by its own product). No sku, or one the catalog does not
  // know, groups under kUnknownProduct: the sku need not be required.
  ViewField catalog_group(const Json& j, const std::string& where) const {
    r_.only(j, where, {"catalog"});
    const auto fact = r_.string(r_.need(j, "catalog", where), where + ".catalog");
    const auto it =
        std::find_if(kFacts.begin(), kFacts.end(), [&](const auto& f) { return f.first == fact; });
    if (it == kFacts.end()) {
      r_.fail(where + ".catalog", quoted(fact) + " is not name, brand or category");
    }
    if (!d_.enrich) {
      r_.fail(where,
              "groups by the catalog, but the kind declares no \"enrich\": {\"sku\": field}");
    }
    return ViewField{d_.enrich->sku, d_.enrich->on_lines, it->second};
  }

  static std::string catalog_column(CatalogFact f) {
    const auto it =
        std::find_if(kFacts.begin(), kFacts.end(), [&](const auto& k) { return k.second == f; });
    return "product_" + std::string(it->first);
  }

  minutes duration(const Json& j, const std::string& where) const {
    const auto text = r_.string(j, where);
    std::chrono::milliseconds ms{};
    try {
      ms = core::parse_duration(text);
    } catch (const std::exception& e) {
      r_.fail(where, e.what());
    }
    if (ms.count() <= 0 || ms % minutes{1} != std::chrono::milliseconds{0}) {
      r_.fail(where, quoted(text) + " is not a whole number of minutes");
    }
    return std::chrono::duration_cast<minutes>(ms);
  }

  ViewWindow window(const Json& w, const std::string& at, bool adopted) const {
    ViewWindow out;
    if (w.type == Json::Type::kString && w.text == "all") {
      if (!adopted) r_.fail(at, "\"all\" is for a view with a \"table\"");
      out.all_time = true;
      return out;
    }
    r_.only(w, at, {"size", "hop", "time_zone"});
    out.size = duration(r_.need(w, "size", at), at + ".size");
    out.hop = out.size;
    if (const Json* h = w.member("hop")) out.hop = duration(*h, at + ".hop");
    if (const Json* z = w.member("time_zone")) out.time_zone = zone(*z, at + ".time_zone");
    const auto whole = [](minutes m, minutes unit) { return m % unit == minutes{0}; };
    const bool utc = out.time_zone == "UTC";
    // The buckets a window is made of, each a hop wide: a divisor of a day,
    // a day or a week; in another zone than UTC, a quarter hour's divisor
    // (the same instants in every zone), an hour, a day or a week.
    const auto h = out.hop;
    const bool fits_day = h < kDay ? whole(kDay, h) : (h == kDay || h == kWeek);
    const bool fits_zone = whole(kQuarterHour, h) || h == minutes{60} || h == kDay || h == kWeek;
    if (!fits_day || (!utc && !fits_zone)) {
      r_.fail(at + (w.member("hop") ? ".hop" : ".size"),
              utc ? "must divide a day (1m, 5m, 15m, 1h, 6h, ...), or be 1d or 7d"
                  : "in a time zone other than UTC must divide 15m, or be 1h, 1d or 7d");
    }
    if (out.size < h || !whole(out.size, h)) {
      r_.fail(at + ".size", "must be a whole number of hops (" + core::format_duration(h) + ")");
    }
    if (out.size / h > 1000) r_.fail(at + ".size", "spans more than 1000 hops");
    if (!utc && out.size >= kDay && h < kDay) {
      r_.fail(at + ".hop",
              "of a window of a day or more in a time zone must be whole days (1d, 7d)");
    }
    if (h == kWeek && out.size != kWeek) {
      r_.fail(at + ".size", "of a window hopping by weeks must be 7d");
    }
    return out;
  }

  // An IANA zone's name: PostgreSQL checks it is one when it makes the view.
  std::string zone(const Json& j, const std::string& where) const {
    const auto z = r_.string(j, where);
    const bool ok = z.size() <= 64 && std::all_of(z.begin(), z.end(), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '/' ||
                             c == '_' || c == '-' || c == '+';
                    });
    if (!ok) r_.fail(where, quoted(z) + " is not a time zone's name (America/New_York, UTC)");
    return z;
  }

  MeasureDecl measure(const Json& j, const std::string& at) const {
    r_.only(j, at, {"as", "op", "of", "scale", "where", "negative_when"});
    MeasureDecl out;
    out.as = r_.identifier(r_.need(j, "as", at), at + ".as");
    const auto op = r_.string(r_.need(j, "op", at), at + ".op");
    static const std::vector<std::pair<std::string_view, MeasureDecl::Op>> kOps = {
        {"count", MeasureDecl::Op::kCount},
        {"sum", MeasureDecl::Op::kSum},
        {"min", MeasureDecl::Op::kMin},
        {"max", MeasureDecl::Op::kMax},
        {"avg", MeasureDecl::Op::kAvg}};
    const auto it = std::find_if(kOps.begin(), kOps.end(), [&](auto& o) { return o.first == op; });
    if (it == kOps.end()) r_.fail(at + ".op", quoted(op) + " is not count, sum, min, max or avg");
    out.op = it->second;
    const Json* of = j.member("of");
    if (out.op == MeasureDecl::Op::kCount) {
      if (of != nullptr) r_.fail(at + ".of", "a count counts rows, of no field");
    } else {
      if (of == nullptr || of->type != Json::Type::kArray || of->items.empty() ||
          of->items.size() > 4) {
        r_.fail(at + ".of",
                "must be an array of 1 to 4 factors (field names, or {\"percent_off\": field})");
      }
      // The largest magnitude a term can take, in units of its scale, kept
      // far below 128 bits so that a window's sum of them fits too.
      long double bound = 1;
      for (std::size_t k = 0; k < of->items.size(); ++k) {
        const std::string where = at + ".of[" + std::to_string(k) + "]";
        const auto factor = this->factor(of->items[k], where);
        const auto& f = this->of(factor.field);
        if (factor.percent_off || factor.percent) {
          out.scale += 8;
          bound *= (factor.percent_off ? 1e8L : 0) + magnitude(f);
        } else {
          out.scale += f.type == ValueType::kDecimal ? 6 : 0;
          bound *= magnitude(f);
        }
        out.of.push_back(factor);
      }
      if (bound >= std::ldexp(1.0L, 100)) {
        r_.fail(at + ".of", "can exceed 2^100 in units of its " + std::to_string(out.scale) +
                                " decimals: bound its fields (min, max) or take fewer factors");
      }
    }
    if (const Json* w = j.member("where")) {
      if (out.op == MeasureDecl::Op::kAvg) r_.fail(at + ".where", "an average is of every row");
      // A slot without a matching row would have no extreme, which the
      // view's NOT NULL column cannot hold: the view's own where serves.
      if (out.op == MeasureDecl::Op::kMin || out.op == MeasureDecl::Op::kMax) {
        r_.fail(at + ".where", "a minimum or maximum is of every row (give the view the where)");
      }
      out.where = conditions(*w, at + ".where");
    }
    if (const Json* n = j.member("negative_when")) {
      const std::string where = at + ".negative_when";
      if (out.op != MeasureDecl::Op::kSum) r_.fail(where, "negates a sum's terms");
      out.negative_when = field(*n, where);
      if (this->of(*out.negative_when).type != ValueType::kBoolean) {
        r_.fail(where, "names no boolean field");
      }
    }
    if (const Json* s = j.member("scale")) {
      if (out.op != MeasureDecl::Op::kAvg) r_.fail(at + ".scale", "is an average's decimals");
      out.avg_scale = static_cast<int>(r_.integer(*s, at + ".scale", 0, 12));
    }
    return out;
  }

  // A field's largest magnitude in units of its scale.
  static long double magnitude(const FieldDecl& f) {
    if (f.type == ValueType::kInteger) {
      return std::max(std::fabs(static_cast<long double>(f.int_min)),
                      std::fabs(static_cast<long double>(f.int_max)));
    }
    const long double unbounded = 9.3e18L;  // a Decimal's int64 of micro-units
    const auto units = [&](const std::optional<core::Decimal>& d) {
      return d ? std::fabs(static_cast<long double>(d->units())) : unbounded;
    };
    return std::max(units(f.min), units(f.max));
  }

  ViewFactor factor(const Json& j, const std::string& where) const {
    ViewFactor out;
    const Json* name = &j;
    if (j.type == Json::Type::kObject) {
      r_.only(j, where, {"percent_off", "percent"});
      out.percent_off = j.member("percent_off") != nullptr;
      out.percent = !out.percent_off;
      if (j.members.size() != 1) r_.fail(where, "takes one of percent_off and percent");
      name = &j.members[0].value;
    }
    out.field = field(*name, where);
    const auto& f = of(out.field);
    if (f.type != ValueType::kInteger && f.type != ValueType::kDecimal) {
      r_.fail(where, "field " + quoted(f.name) + " must be an integer or a decimal");
    }
    if ((out.percent_off || out.percent) && f.type != ValueType::kDecimal) {
      r_.fail(where, std::string(out.percent ? "percent" : "percent_off") +
                         " takes a decimal field (a percentage)");
    }
    return out;
  }

  TopDecl top(const Json& t, const std::string& at, const ViewDecl& v) const {
    r_.only(t, at, {"n", "by", "order", "then", "per"});
    TopDecl out;
    out.n = static_cast<std::size_t>(r_.integer(r_.need(t, "n", at), at + ".n", 1, 1000));
    out.by = r_.string(r_.need(t, "by", at), at + ".by");
    if (std::none_of(v.measures.begin(), v.measures.end(),
                     [&](const MeasureDecl& m) { return m.as == out.by; })) {
      r_.fail(at + ".by", quoted(out.by) + " is not a measure's \"as\"");
    }
    if (const Json* o = t.member("order")) {
      const auto order = r_.string(*o, at + ".order");
      if (order != "desc" && order != "asc") r_.fail(at + ".order", "must be desc or asc");
      out.ascending = order == "asc";
    }
    if (v.group_by.empty()) r_.fail(at, "ranks groups: the view needs a group_by");
    const auto groups = [&](const char* member, std::vector<std::size_t>& into) {
      const Json* j = t.member(member);
      if (j == nullptr) return;
      const std::string where = at + "." + member;
      if (j->type != Json::Type::kArray || j->items.empty()) {
        r_.fail(where, "must be a non-empty array of group_by's names or {\"catalog\": fact}");
      }
      for (std::size_t k = 0; k < j->items.size(); ++k) {
        const auto& item = j->items[k];
        const std::string at_item = where + "[" + std::to_string(k) + "]";
        // A group is named as group_by names it: a field's name, or
        // {"catalog": fact} (shown as catalog.<fact>).
        const bool catalog = item.type == Json::Type::kObject;
        if (catalog) r_.only(item, at_item, {"catalog"});
        const auto text = catalog
                              ? r_.string(r_.need(item, "catalog", at_item), at_item + ".catalog")
                              : r_.string(item, at_item);
        const auto name = catalog ? "catalog." + text : text;
        const auto it = std::find_if(v.group_by.begin(), v.group_by.end(), [&](const ViewField& g) {
          if (catalog) {
            return g.catalog != CatalogFact::kNone &&
                   catalog_column(g.catalog) == "product_" + text;
          }
          return g.catalog == CatalogFact::kNone && of(g).name == text;
        });
        if (it == v.group_by.end()) r_.fail(where, quoted(name) + " is not one of group_by");
        const auto index = static_cast<std::size_t>(it - v.group_by.begin());
        if (std::find(out.then.begin(), out.then.end(), index) != out.then.end() ||
            std::find(out.per.begin(), out.per.end(), index) != out.per.end()) {
          r_.fail(where, quoted(name) + " is named twice in then and per");
        }
        into.push_back(index);
      }
    };
    groups("per", out.per);
    groups("then", out.then);
    if (out.per.size() == v.group_by.size()) {
      r_.fail(at + ".per", "leaves no group to rank: name fewer than group_by");
    }
    return out;
  }

  const DocReader& r_;
  const Declaration& d_;
};

}  // namespace

std::vector<ViewDecl> parse_views(const DocReader& r, const Json& views, const Declaration& d) {
  if (views.type != Json::Type::kArray) r.fail("views", "must be an array");
  const ViewReader reader(r, d);
  std::vector<ViewDecl> out;
  std::set<std::string> names;
  for (std::size_t i = 0; i < views.items.size(); ++i) {
    const std::string at = "views[" + std::to_string(i) + "]";
    auto v = reader.view(views.items[i], at);
    if (!names.insert(v.name).second) r.fail(at + ".name", quoted(v.name) + " is declared twice");
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace millrace::kinds::detail

namespace millrace::kinds {

void add_views(Declaration& d, std::string_view json, std::string_view origin) {
  const detail::DocReader r("views file " + std::string(origin));
  std::string error;
  const auto root = detail::parse_json(json, error);
  if (!root) r.fail("", "not JSON: " + error);
  r.only(*root, "", {"$comment", "kind", "views"});
  const auto kind = r.string(r.need(*root, "kind", ""), "kind");
  if (kind != d.kind) {
    r.fail("kind", "\"" + kind + "\" is not the kind of its file name (" + d.kind +
                       "); its views belong in " + kind + ".views.json");
  }
  auto views = detail::parse_views(r, r.need(*root, "views", ""), d);
  for (std::size_t i = 0; i < views.size(); ++i) {
    const auto& name = views[i].name;
    if (std::any_of(d.views.begin(), d.views.end(),
                    [&](const ViewDecl& v) { return v.name == name; })) {
      r.fail("views[" + std::to_string(i) + "].name",
             "\"" + name + "\" is declared twice: the kind's declaration declares it already");
    }
  }
  for (auto& v : views) d.views.push_back(std::move(v));
}

}  // namespace millrace::kinds
