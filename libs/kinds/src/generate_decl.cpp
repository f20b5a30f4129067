#include "generate_decl.hpp"

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <vector>

#include "millrace/core/decimal.hpp"

namespace millrace::kinds::detail {

namespace {

using Rule = GenerateHint::Rule;

// A share of records, 0..1, read exactly enough for a draw in millionths.
double share(const DocReader& r, const Json& j, const std::string& where) {
  const auto v = r.decimal(j, where);
  if (v < core::Decimal::from_integer(0) || v > core::Decimal::from_integer(1)) {
    r.fail(where, "must be between 0 and 1");
  }
  return static_cast<double>(v.units()) / static_cast<double>(core::Decimal::kOne);
}

// The fields a pattern names, in order: "{store_id:3}" names store_id
// (zero-padded to three digits). Fails for a brace left open or empty.
std::vector<std::string> pattern_fields(const DocReader& r, std::string_view pattern,
                                        const std::string& where) {
  std::vector<std::string> out;
  for (std::size_t at = pattern.find('{'); at != std::string_view::npos;
       at = pattern.find('{', at + 1)) {
    const auto end = pattern.find('}', at);
    if (end == std::string_view::npos) r.fail(where, "a '{' without its '}'");
    const auto inside = pattern.substr(at + 1, end - at - 1);
    const auto name = inside.substr(0, inside.find(':'));
    if (name.empty()) r.fail(where, "a '{}' naming no field");
    if (name.size() < inside.size()) {
      const auto width = inside.substr(name.size() + 1);
      if (width.empty() || width.size() > 2 ||
          !std::all_of(width.begin(), width.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        r.fail(where, "{" + std::string(inside) + "}: a width is a number of digits, 1 to 99");
      }
    }
    out.emplace_back(name);
  }
  if (out.empty()) r.fail(where, "names no field: {field} or {field:width}");
  return out;
}

}  // namespace

GenerateHint read_generate(const DocReader& r, const Json* j, const std::string& where) {
  GenerateHint g;
  if (j == nullptr) return g;
  if (j->type == Json::Type::kString) {
    if (j->text == "catalog_sku") {
      g.rule = Rule::kCatalogSku;
    } else if (j->text == "email") {
      g.rule = Rule::kEmail;
    } else {
      r.fail(where,
             "\"" + std::string(j->text) + "\" is not a rule (catalog_sku, email, or an object)");
    }
    return g;
  }
  r.only(*j, where,
         {"one_of", "range", "sum_of_lines", "copy_of", "chance", "pattern", "ip_of",
          "catalog_category_of", "catalog_price_of", "absent", "step", "zero"});
  std::size_t rules = 0;
  for (const auto& [rule, arg] : j->members) {
    const std::string at = where + "." + std::string(rule);
    if (rule == "absent" || rule == "zero") {
      (rule == "absent" ? g.absent : g.zero) = share(r, arg, at);
      continue;
    }
    if (rule == "step") {
      const auto step = r.decimal(arg, at);
      if (step <= core::Decimal::from_integer(0)) r.fail(at, "must be above 0");
      g.step = step.to_string();
      continue;
    }
    ++rules;
    if (rule == "one_of") {
      g.rule = Rule::kOneOf;
      g.choices = r.strings(arg, at);
    } else if (rule == "range") {
      g.rule = Rule::kRange;
      if (arg.type != Json::Type::kArray || arg.items.size() != 2) {
        r.fail(at, "must be [low, high]");
      }
      const auto low = r.decimal(arg.items[0], at), high = r.decimal(arg.items[1], at);
      if (high < low) r.fail(at, "high is below low");
      g.low = low.to_string();
      g.high = high.to_string();
    } else if (rule == "sum_of_lines") {
      g.rule = Rule::kSumOfLines;
      g.of = r.strings(arg, at);
    } else if (rule == "copy_of") {
      g.rule = Rule::kCopyOf;
      g.of = {r.string(arg, at)};
    } else if (rule == "chance") {
      g.rule = Rule::kChance;
      g.share = share(r, arg, at);
    } else if (rule == "pattern") {
      g.rule = Rule::kPattern;
      g.choices = {r.string(arg, at)};
      g.of = pattern_fields(r, g.choices[0], at);
    } else {
      g.rule = rule == "ip_of"                 ? Rule::kIpOf
               : rule == "catalog_category_of" ? Rule::kCatalogCategory
                                               : Rule::kCatalogPrice;
      g.of = {r.string(arg, at)};
    }
  }
  if (rules > 1 || (rules == 0 && g.absent == 0 && g.zero == 0)) {
    r.fail(where, "must hold exactly one rule (and may say how often the field is absent or 0)");
  }
  if (!g.step.empty() && g.rule != Rule::kRange) r.fail(where, "step applies to a range");
  return g;
}

void check_generate(const DocReader& r, const FieldDecl& f, const std::string& where) {
  const auto& g = f.generate;
  const bool numeric = f.type == ValueType::kInteger || f.type == ValueType::kDecimal;
  const bool text = f.type == ValueType::kText || f.type == ValueType::kFreeText;
  const auto within = [&](const std::string& t) {
    const auto v = core::Decimal::parse(t);
    if (!v) return false;
    if (f.type == ValueType::kDecimal) return *v >= *f.min && *v <= *f.max;
    if (v->units() % core::Decimal::kOne != 0) return false;
    const auto whole = v->units() / core::Decimal::kOne;
    return whole >= f.int_min && whole <= f.int_max;
  };
  if (g.absent > 0 && f.required) r.fail(where, "absent applies to optional fields only");
  if (g.zero > 0 && (!numeric || !within("0"))) {
    r.fail(where, "zero applies to integer and decimal fields whose bounds hold 0");
  }
  if (!g.step.empty() && f.type == ValueType::kInteger && !within(g.step)) {
    r.fail(where, "an integer's step is a whole number within its bounds");
  }
  switch (g.rule) {
    case Rule::kOneOf:
      for (const auto& c : g.choices) {
        const bool ok = numeric                         ? within(c)
                        : f.type == ValueType::kBoolean ? c == "true" || c == "false"
                        : f.type == ValueType::kText
                            ? c.size() >= f.min_bytes && c.size() <= f.max_bytes &&
                                  (f.values.empty() ||
                                   std::find(f.values.begin(), f.values.end(), c) != f.values.end())
                            : f.type == ValueType::kFreeText;
        if (!ok)
          r.fail(where, "choice \"" + c + "\" is not a valid " + std::string(type_name(f.type)) +
                            " of this field");
      }
      break;
    case Rule::kRange:
      if (!numeric || !within(g.low) || !within(g.high)) {
        r.fail(where, "range applies to integer and decimal fields, within their min and max");
      }
      break;
    case Rule::kCatalogSku:
      if (f.type != ValueType::kInteger || f.int_min > 100'000 || f.int_max < 999'999) {
        r.fail(where, "catalog_sku applies to integer fields whose bounds hold 100000..999999");
      }
      break;
    case Rule::kEmail:
      if (!text) r.fail(where, "email applies to text fields only");
      break;
    case Rule::kChance:
      if (f.type != ValueType::kBoolean) r.fail(where, "chance applies to boolean fields only");
      break;
    case Rule::kPattern:
      if (!text || !f.values.empty()) {
        r.fail(where, "pattern applies to text fields without values");
      }
      break;
    case Rule::kIpOf:
      if (f.type != ValueType::kIp) r.fail(where, "ip_of applies to ip fields only");
      break;
    case Rule::kCatalogCategory:
      if (!text || !f.values.empty()) {
        r.fail(where, "catalog_category_of applies to text fields without values");
      }
      break;
    case Rule::kCatalogPrice:
      // The catalog's prices run from 0.50 to 500.00.
      if (f.type != ValueType::kDecimal || *f.min > core::Decimal::from_integer(0) ||
          *f.max < core::Decimal::from_integer(500)) {
        r.fail(where, "catalog_price_of applies to decimal fields whose bounds hold 0..500");
      }
      break;
    default:
      break;
  }
}

bool made_from_fields(GenerateHint::Rule rule) {
  return rule == Rule::kPattern || rule == Rule::kIpOf || rule == Rule::kCatalogCategory ||
         rule == Rule::kCatalogPrice;
}

void check_generate_sources(const DocReader& r, const Declaration& d) {
  if (d.lines) {
    for (const auto& f : d.lines->fields) {
      if (made_from_fields(f.generate.rule) || f.generate.absent > 0) {
        r.fail("lines.fields", "\"" + f.name +
                                   "\": a rule made from other fields, or absent, applies to "
                                   "record fields only");
      }
    }
  }
  for (const auto& f : d.fields) {
    const auto& g = f.generate;
    if (!made_from_fields(g.rule)) continue;
    for (const auto& name : g.of) {
      const auto i = d.find(name);
      const std::string what = "\"" + f.name + "\": its generate rule names ";
      if (!i) r.fail("fields", what + "no field " + name);
      const auto& source = d.fields[*i];
      const auto from = source.generate.rule;
      // Drawn before the rules made from other fields are applied.
      if (made_from_fields(from) || from == Rule::kSumOfLines || source.generate.absent > 0) {
        r.fail("fields", what + name + ", which is itself made from other fields or absent");
      }
      const bool catalog = g.rule == Rule::kCatalogCategory || g.rule == Rule::kCatalogPrice;
      if (catalog && from != Rule::kCatalogSku) {
        r.fail("fields", what + name + ", which is not a catalog_sku");
      }
      if (g.rule == Rule::kIpOf && source.type != ValueType::kInteger) {
        r.fail("fields", what + name + ", which is not an integer");
      }
      if (g.rule == Rule::kPattern && source.type != ValueType::kInteger &&
          source.type != ValueType::kText) {
        r.fail("fields", what + name + ", which is neither an integer nor a text");
      }
    }
  }
}

}  // namespace millrace::kinds::detail
