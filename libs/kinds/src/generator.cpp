#include "millrace/kinds/generator.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "generate_decl.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/sample_catalog.hpp"

namespace millrace::kinds {

using core::Decimal;
using core::RejectReason;

namespace {

// mt19937_64's output is fixed by the standard; the std distributions are
// not, and would make a seed's records differ between standard libraries.
std::uint64_t below(std::mt19937_64& rng, std::uint64_t n) {
  return n == 0 ? 0 : rng() % n;
}

std::int64_t between(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi) {
  const auto span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + below(rng, span + 1));
}

std::string uuid(std::mt19937_64& rng) {
  char buf[40];
  const std::uint64_t a = rng(), b = rng();
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

bool chance(std::mt19937_64& rng, double share) {
  return static_cast<double>(below(rng, 1'000'000)) < share * 1e6;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Draws one record's values, then bends one of them when the record is to
// be bad.
class Drawer {
 public:
  Drawer(const Declaration& d, const RecordGeneratorOptions& o, std::mt19937_64& rng,
         std::uint64_t serial)
      : d_(d), o_(o), rng_(rng), serial_(serial) {}

  Value draw(const FieldDecl& f, const std::vector<Value>* parent,
             const std::vector<std::vector<Value>>* lines) {
    using Rule = GenerateHint::Rule;
    const auto& g = f.generate;
    switch (g.rule) {
      case Rule::kOneOf:
        return convert(f, g.choices[below(rng_, g.choices.size())]);
      case Rule::kRange: {
        // Drawn whether or not it is 0, so that the share of zeros moves no
        // other value.
        const bool zero = g.zero > 0 && chance(rng_, g.zero);
        const auto v = in_range(f, *Decimal::parse(g.low), *Decimal::parse(g.high),
                                g.step.empty() ? std::nullopt : Decimal::parse(g.step));
        if (!zero) return v;
        return f.type == ValueType::kInteger ? Value(std::int64_t{0}) : Value(Decimal{});
      }
      case Rule::kCatalogSku: {
        const auto categories = generated_categories().size();
        const auto skus = generated_skus(below(rng_, categories));
        return skus[below(rng_, skus.size())];
      }
      case Rule::kSumOfLines:
        return sum_of_lines(f, *lines);
      case Rule::kCopyOf:
        return (*parent)[*d_.find(g.of[0])];
      case Rule::kEmail:
        return email(parent);
      case Rule::kChance:
        return chance(rng_, g.share);
      case Rule::kPattern:
        return pattern(g.choices[0], *parent);
      case Rule::kIpOf: {
        const auto v = static_cast<std::uint64_t>(std::get<std::int64_t>(source(f, *parent)));
        return "10." + std::to_string((v >> 16) & 0xff) + "." + std::to_string((v >> 8) & 0xff) +
               "." + std::to_string(v & 0xff);
      }
      case Rule::kCatalogCategory:
        return std::string(generated_categories()[generated_category_of(
            std::get<std::int64_t>(source(f, *parent)))]);
      case Rule::kCatalogPrice:
        return generated_price(std::get<std::int64_t>(source(f, *parent)));
      case Rule::kDefault:
        break;
    }
    switch (f.type) {
      case ValueType::kIp:
        return "10." + std::to_string(below(rng_, 256)) + "." + std::to_string(below(rng_, 256)) +
               ".1";
      case ValueType::kFreeText:
        return f.name + " " + std::to_string(1 + below(rng_, 1000));
      case ValueType::kText: {
        if (!f.values.empty()) return f.values[below(rng_, f.values.size())];
        // Within max_bytes: the number alone when the name does not fit
        // (the uuid and the number are ASCII, so they cut anywhere), and
        // padded to min_bytes, or a good record would be refused.
        std::string text;
        if (&f == &d_.identity_field()) {
          text = uuid(rng_).substr(0, f.max_bytes);
        } else {
          const auto n = std::to_string(1 + below(rng_, 1000));
          text = f.name + " " + n;
          if (text.size() > f.max_bytes) text = n.substr(0, f.max_bytes);
        }
        if (text.size() < f.min_bytes) text.append(f.min_bytes - text.size(), 'x');
        return text;
      }
      case ValueType::kUuid:
        return uuid(rng_);
      case ValueType::kInteger:
        // The span in unsigned arithmetic: int_max - int_min overflows for a wide range.
        return between(
            rng_, f.int_min,
            static_cast<std::uint64_t>(f.int_max) - static_cast<std::uint64_t>(f.int_min) > 1000
                ? f.int_min + 1000
                : f.int_max);
      case ValueType::kDecimal: {
        const auto hi =
            std::min(*f.max, Decimal::from_units(f.min->units() + 1000 * Decimal::kOne));
        return in_range(f, *f.min, hi);
      }
      case ValueType::kBoolean:
        return below(rng_, 2) == 1;
      case ValueType::kTimestamp:
        return Timestamp{o_.base_ts -
                         between(rng_, 0, std::max<std::int64_t>(o_.time_spread_us, 0))};
    }
    return std::monostate{};
  }

 private:
  Value convert(const FieldDecl& f, const std::string& text) {
    switch (f.type) {
      case ValueType::kInteger:
        return Decimal::parse(text)->units() / Decimal::kOne;
      case ValueType::kDecimal:
        return *Decimal::parse(text);
      case ValueType::kBoolean:
        return text == "true";
      default:
        return text;
    }
  }

  // Multiples of `step`: by default integers whole, decimals in cents.
  Value in_range(const FieldDecl& f, Decimal lo, Decimal hi,
                 std::optional<Decimal> step = std::nullopt) {
    const std::int64_t unit = step                            ? step->units()
                              : f.type == ValueType::kInteger ? Decimal::kOne
                                                              : Decimal::kOne / 100;
    const auto n = between(rng_, (lo.units() + unit - 1) / unit, hi.units() / unit);
    if (f.type == ValueType::kInteger) return n * unit / Decimal::kOne;
    return Decimal::from_units(n * unit);
  }

  const Value& source(const FieldDecl& f, const std::vector<Value>& parent) const {
    return parent[*d_.find(f.generate.of[0])];
  }

  // "store-{store_id:3}.millrace.local": each {field} its value, an
  // integer zero-padded to the width given.
  std::string pattern(std::string_view p, const std::vector<Value>& parent) const {
    std::string out;
    for (std::size_t at = 0; at < p.size();) {
      const auto open = p.find('{', at);
      out.append(p.substr(at, open - at));
      if (open == std::string_view::npos) break;
      const auto close = p.find('}', open);
      const auto inside = p.substr(open + 1, close - open - 1);
      const auto colon = inside.find(':');
      const auto& v = parent[*d_.find(inside.substr(0, colon))];
      if (const auto* n = std::get_if<std::int64_t>(&v)) {
        auto digits = std::to_string(*n < 0 ? -*n : *n);
        const std::size_t width =
            colon == std::string_view::npos ? 0 : std::stoul(std::string(inside.substr(colon + 1)));
        if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
        if (*n < 0) out += '-';
        out += digits;
      } else if (const auto* t = std::get_if<std::string>(&v)) {
        out += *t;
      }
      at = close + 1;
    }
    return out;
  }

  Value sum_of_lines(const FieldDecl& f, const std::vector<std::vector<Value>>& lines) {
    core::Int128 sum = 0;
    for (const auto& line : lines) {
      core::Int128 product = Decimal::kOne;
      for (const auto& name : f.generate.of) {
        std::size_t i = 0;
        while (d_.lines->fields[i].name != name) ++i;
        const auto& v = line[i];
        const core::Int128 units = std::holds_alternative<Decimal>(v)
                                       ? std::get<Decimal>(v).units()
                                       : std::get<std::int64_t>(v) * Decimal::kOne;
        product = product * units / Decimal::kOne;
      }
      sum += product;
    }
    const auto max = static_cast<core::Int128>(f.max->units());
    return Decimal::from_units(static_cast<std::int64_t>(std::min(sum, max)));
  }

  Value email(const std::vector<Value>* parent) {
    std::string first = "customer", last = std::to_string(serial_ % 997);
    if (parent != nullptr) {
      const auto pick = [&](std::string_view name, std::string& out) {
        if (const auto i = d_.find(name); i && std::holds_alternative<std::string>((*parent)[*i])) {
          out = lower(std::get<std::string>((*parent)[*i]));
        }
      };
      pick("FirstName", first);
      pick("LastName", last);
    }
    return first + "." + last + std::to_string(below(rng_, 100)) + "@example.com";
  }

  const Declaration& d_;
  const RecordGeneratorOptions& o_;
  std::mt19937_64& rng_;
  std::uint64_t serial_;
};

Value below_min(const FieldDecl& f) {
  if (f.type == ValueType::kInteger) return f.int_min - 1;
  return Decimal::from_units(f.min->units() - Decimal::kOne);
}

void append_object(std::string& out, const std::vector<FieldDecl>& fields,
                   const std::vector<Value>& values, const FieldDecl* skip) {
  bool first = true;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (&fields[i] == skip) continue;
    // An absent optional field (generate's "absent") is left out; a line's
    // null, a bad record's, is sent.
    if (fields[i].generate.absent > 0 && std::holds_alternative<std::monostate>(values[i])) {
      continue;
    }
    out += first ? "\"" : ",\"";
    first = false;
    out += fields[i].name;
    out += "\":";
    append_json(out, values[i]);
  }
}

}  // namespace

RecordGenerator::RecordGenerator(const Declaration& declaration, RecordGeneratorOptions options)
    : d_(declaration), options_(options), rng_(options.seed) {}

GeneratedRecord RecordGenerator::next() {
  ++serial_;
  Drawer drawer(d_, options_, rng_, serial_);
  std::vector<Value> values(d_.fields.size());
  std::vector<std::vector<Value>> lines;
  // Plain fields first, then those made from them, then the lines (which
  // may copy them), then the fields summed over the lines.
  for (const bool derived : {false, true}) {
    for (std::size_t i = 0; i < d_.fields.size(); ++i) {
      const auto& g = d_.fields[i].generate;
      if (g.rule == GenerateHint::Rule::kSumOfLines ||
          detail::made_from_fields(g.rule) != derived) {
        continue;
      }
      values[i] = drawer.draw(d_.fields[i], &values, nullptr);
      if (g.absent > 0 && chance(rng_, g.absent)) values[i] = std::monostate{};
    }
  }
  if (d_.lines) {
    lines.resize(
        static_cast<std::size_t>(between(rng_, static_cast<std::int64_t>(d_.lines->generate_min),
                                         static_cast<std::int64_t>(d_.lines->generate_max))));
    for (auto& line : lines) {
      line.resize(d_.lines->fields.size());
      for (std::size_t i = 0; i < line.size(); ++i) {
        line[i] = drawer.draw(d_.lines->fields[i], &values, nullptr);
      }
    }
  }
  for (std::size_t i = 0; i < d_.fields.size(); ++i) {
    if (d_.fields[i].generate.rule == GenerateHint::Rule::kSumOfLines) {
      values[i] = drawer.draw(d_.fields[i], &values, &lines);
    }
  }

  GeneratedRecord out;
  out.key = std::get<std::string>(values[d_.identity]);
  const bool bad = options_.bad_ratio > 0 &&
                   static_cast<double>(below(rng_, 1'000'000)) < options_.bad_ratio * 1e6;
  // A bad record: a required field left out, a number sent as text, a
  // number below its bounds, or JSON cut short; in the record or a line.
  const FieldDecl* skip = nullptr;
  std::size_t bad_line = 0;
  std::string prefix;
  enum class Defect {
    kNone,
    kMissing,
    kText,
    kBelow,
    kTruncated,
    kMissingType,
    kUnknownType
  } defect = Defect::kNone;
  if (bad) {
    std::vector<std::pair<const FieldDecl*, std::size_t>> candidates;  // (field, line+1 or 0)
    for (const auto& f : d_.fields) candidates.emplace_back(&f, 0);
    if (d_.lines && !lines.empty()) {  // a record may have no lines to spoil
      bad_line = 1 + below(rng_, lines.size());
      for (const auto& f : d_.lines->fields) candidates.emplace_back(&f, bad_line);
    }
    const auto [field, line] = candidates[below(rng_, candidates.size())];
    prefix = line == 0 ? "" : d_.lines->name + "[" + std::to_string(line) + "].";
    const bool numeric = field->type == ValueType::kInteger || field->type == ValueType::kDecimal;
    const auto draw = below(rng_, 4);
    // The type a producer sends in the header too (type_header): left out,
    // the message has no type; one not among its values, an unknown type.
    const bool type = line == 0 && d_.type_header && field == &d_.fields[*d_.type_header];
    if (type && draw < 2) {
      defect = draw == 0 ? Defect::kMissingType : Defect::kUnknownType;
    } else if (draw == 0 && field->required) {
      defect = Defect::kMissing;
    } else if (draw == 1 && numeric) {
      defect = Defect::kText;
    } else if (draw == 2 && numeric &&
               (field->type == ValueType::kInteger
                    ? field->int_min > std::numeric_limits<std::int64_t>::min()
                    : field->min->units() > Decimal::from_integer(-1000).units())) {
      defect = Defect::kBelow;
    } else {
      defect = Defect::kTruncated;
    }
    if (defect == Defect::kMissingType || defect == Defect::kUnknownType) {
      const auto i = *d_.type_header;
      if (defect == Defect::kMissingType) {
        skip = field;
        out.expected = RejectReason::kMissingEventType;
      } else {
        const auto* was = std::get_if<std::string>(&values[i]);
        values[i] = "not_" + (was != nullptr ? *was : std::string("a_type"));
        out.expected = RejectReason::kUnknownEventType;
      }
    } else if (defect != Defect::kTruncated) {
      if (line == 0) {
        const auto i = static_cast<std::size_t>(field - d_.fields.data());
        if (defect == Defect::kMissing) skip = field;
        if (defect == Defect::kText) values[i] = std::string("1");
        if (defect == Defect::kBelow) values[i] = below_min(*field);
        if (i == d_.identity && defect == Defect::kMissing) out.key.clear();
      } else {
        auto& l = lines[line - 1];
        const auto i = static_cast<std::size_t>(field - d_.lines->fields.data());
        if (defect == Defect::kMissing) l[i] = std::monostate{};
        if (defect == Defect::kText) l[i] = std::string("1");
        if (defect == Defect::kBelow) l[i] = below_min(*field);
      }
      out.expected = defect == Defect::kMissing ? RejectReason::kMissingField
                     : defect == Defect::kText  ? RejectReason::kWrongType
                                                : RejectReason::kOutOfRange;
      out.bad_field = prefix + field->name;
    } else {
      out.expected = RejectReason::kInvalidJson;
    }
  }

  std::string& json = out.payload;
  json = "{";
  append_object(json, d_.fields, values, skip);
  if (d_.lines) {
    json += ",\"" + d_.lines->name + "\":[";
    for (std::size_t n = 0; n < lines.size(); ++n) {
      if (n > 0) json += ',';
      json += '{';
      append_object(json, d_.lines->fields, lines[n], nullptr);
      json += '}';
    }
    json += ']';
  }
  json += '}';
  if (defect == Defect::kTruncated) json.resize(json.size() / 2);
  return out;
}

}  // namespace millrace::kinds
