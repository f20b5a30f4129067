#include "aggregate_decl.hpp"

#include <algorithm>
#include <set>

namespace millrace::kinds::detail {

namespace {

// The field of `fields` named by member `name` of `a`, of type `type`.
std::optional<std::size_t> named_field(const DocReader& r, const Json& a, std::string_view name,
                                       const std::vector<FieldDecl>& fields, ValueType type) {
  const Json* j = a.member(name);
  if (j == nullptr) return std::nullopt;
  const std::string at = "aggregate." + std::string(name);
  const auto field = r.string(*j, at);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name != field) continue;
    if (fields[i].type != type) {
      r.fail(at, "field \"" + field + "\" must be " + std::string(type_name(type)));
    }
    if (!fields[i].required) r.fail(at, "field \"" + field + "\" must be required");
    return i;
  }
  r.fail(at, "names no field (\"" + field + "\")");
}

// A required field of the record named by `j`, of one of `types`.
std::size_t record_field(const DocReader& r, const Json& j, const std::string& at,
                         const Declaration& d, std::initializer_list<ValueType> types,
                         std::string_view types_text) {
  const auto name = r.string(j, at);
  const auto i = d.find(name);
  if (!i) r.fail(at, "names no field of the record (\"" + name + "\")");
  const auto& f = d.fields[*i];
  if (std::find(types.begin(), types.end(), f.type) == types.end()) {
    r.fail(at, "field \"" + name + "\" must be " + std::string(types_text));
  }
  if (!f.required) r.fail(at, "field \"" + name + "\" must be required");
  return *i;
}

const Json& array(const DocReader& r, const Json& j, const std::string& at) {
  if (j.type != Json::Type::kArray || j.items.empty()) r.fail(at, "must be a non-empty array");
  return j;
}

int scale_of(const Json* j, const DocReader& r, const std::string& at) {
  return j == nullptr ? 6 : static_cast<int>(r.integer(*j, at, 0, 12));
}

}  // namespace

AggregateDecl parse_aggregate(const DocReader& r, const Json& a, const Declaration& d) {
  r.only(a, "aggregate",
         {"name", "records_as", "amount", "amount_as", "item", "quantity", "price", "group_by",
          "sums", "ratios"});
  AggregateDecl out;
  out.name = r.identifier(r.need(a, "name", "aggregate"), "aggregate.name");
  if (const Json* j = a.member("records_as"))
    out.records_as = r.identifier(*j, "aggregate.records_as");
  if (const Json* j = a.member("amount_as"))
    out.amount_as = r.identifier(*j, "aggregate.amount_as");
  out.amount = named_field(r, a, "amount", d.fields, ValueType::kDecimal);
  const bool any = a.member("item") || a.member("quantity") || a.member("price");
  if (any) {
    if (!d.lines) r.fail("aggregate", "item, quantity and price are fields of lines");
    out.item = named_field(r, a, "item", d.lines->fields, ValueType::kInteger);
    out.quantity = named_field(r, a, "quantity", d.lines->fields, ValueType::kInteger);
    out.price = named_field(r, a, "price", d.lines->fields, ValueType::kDecimal);
    if (!out.item || !out.quantity || !out.price) {
      r.fail("aggregate", "item, quantity and price go together");
    }
  }

  // Every column of the windows' views, so that none is named twice: a
  // view column is what a ratio names, and what users read.
  std::set<std::string> columns = {"window_start", "day", "units", out.records_as};
  const auto claim = [&](const std::string& column, const std::string& at) {
    if (!columns.insert(column).second) {
      r.fail(at, "\"" + column + "\" is already a column of the aggregate's views");
    }
  };
  claim(out.amount_as, "aggregate.amount_as");
  // The tables' own names for records and amount, which views rename.
  for (const char* table_column : {"records", "amount"}) columns.insert(table_column);

  if (const Json* g = a.member("group_by")) {
    const auto& items = array(r, *g, "aggregate.group_by").items;
    if (items.size() > 4) r.fail("aggregate.group_by", "takes at most 4 fields");
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string at = "aggregate.group_by[" + std::to_string(i) + "]";
      const auto field = record_field(r, items[i], at, d, {ValueType::kText, ValueType::kInteger},
                                      "text or integer");
      if (d.fields[field].pii)
        r.fail(at, "field \"" + d.fields[field].name + "\" is personal data");
      if (field == d.time) r.fail(at, "the time is the window's, not a group");
      claim(d.fields[field].column, at);
      out.group_by.push_back(field);
    }
  }
  if (const Json* s = a.member("sums")) {
    const auto& items = array(r, *s, "aggregate.sums").items;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string at = "aggregate.sums[" + std::to_string(i) + "]";
      r.only(items[i], at, {"as", "of"});
      SumDecl sum;
      sum.as = r.identifier(r.need(items[i], "as", at), at + ".as");
      claim(sum.as, at + ".as");
      const auto& of = array(r, r.need(items[i], "of", at), at + ".of").items;
      if (of.size() > 2) r.fail(at + ".of", "takes one field, or two to multiply");
      for (std::size_t k = 0; k < of.size(); ++k) {
        const auto field =
            record_field(r, of[k], at + ".of[" + std::to_string(k) + "]", d,
                         {ValueType::kDecimal, ValueType::kInteger}, "decimal or integer");
        sum.scale += d.fields[field].type == ValueType::kDecimal ? 6 : 0;
        sum.of.push_back(field);
      }
      out.sums.push_back(std::move(sum));
    }
  }
  if (const Json* q = a.member("ratios")) {
    // What a ratio may divide: the views' sums.
    std::set<std::string> sums = {out.records_as, out.amount_as, "units"};
    for (const auto& s : out.sums) sums.insert(s.as);
    const auto& items = array(r, *q, "aggregate.ratios").items;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string at = "aggregate.ratios[" + std::to_string(i) + "]";
      r.only(items[i], at, {"as", "of", "per", "scale"});
      RatioDecl ratio;
      ratio.as = r.identifier(r.need(items[i], "as", at), at + ".as");
      claim(ratio.as, at + ".as");
      for (auto [member, target] : {std::pair{"of", &ratio.of}, std::pair{"per", &ratio.per}}) {
        const std::string where = at + "." + member;
        *target = r.string(r.need(items[i], member, at), where);
        if (!sums.contains(*target)) {
          r.fail(where, "\"" + *target + "\" is not a sum of the views (" + out.records_as + ", " +
                            out.amount_as + ", units, or a sum's \"as\")");
        }
      }
      ratio.scale = scale_of(items[i].member("scale"), r, at + ".scale");
      out.ratios.push_back(std::move(ratio));
    }
  }
  return out;
}

}  // namespace millrace::kinds::detail
