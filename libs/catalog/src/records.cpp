#include "millrace/catalog/records.hpp"

#include <rapidjson/encodings.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <charconv>

namespace millrace::catalog {

namespace {

const std::vector<std::string_view> kCategoryColumns = {"name", "display_name", "description",
                                                        "active"};
const std::vector<std::string_view> kProductColumns = {"sku",      "name",       "brand",
                                                       "category", "list_price", "active"};
const std::vector<std::string_view> kAssetColumns = {"symbol", "description", "type", "currency",
                                                     "display_symbol"};

// numeric(12,2): ten digits before the point.
constexpr std::int64_t kMaxPriceUnits = 9'999'999'999'990'000;
constexpr std::int64_t kCentUnits = core::Decimal::kOne / 100;

struct Invalid {
  std::string why;
};

// Code points in `text`, or nullopt when it is not UTF-8 (RapidJSON's
// validator, one code point at a time).
std::optional<std::size_t> code_points(std::string_view text) {
  rapidjson::StringStream in(text.data());
  rapidjson::StringBuffer sink;
  std::size_t n = 0;
  while (static_cast<std::size_t>(in.Tell()) < text.size()) {
    if (!rapidjson::UTF8<>::Validate(in, sink)) return std::nullopt;
    ++n;
  }
  return n;
}

class FieldReader {
 public:
  FieldReader(Table table, const Fields& fields) : fields_(fields) {
    if (ignores_unknown_fields(table)) return;
    const auto& known = columns(table);
    for (const auto& [name, value] : fields) {
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        std::string list;
        for (const auto c : known) list += (list.empty() ? "" : ", ") + std::string(c);
        throw Invalid{"unknown field \"" + name + "\" (" + std::string(table_name(table)) +
                      " has " + list + ")"};
      }
    }
  }

  std::optional<std::string> get(std::string_view name) const {
    for (const auto& [n, v] : fields_) {
      if (n == name) return v;
    }
    return std::nullopt;
  }

  // Text of 1..max characters; `multiline` allows tab and newlines.
  std::optional<std::string> text(std::string_view name, std::size_t max, bool required,
                                  bool multiline = false) const {
    auto v = get(name);
    if (!v || v->empty()) {
      if (required) throw Invalid{"\"" + std::string(name) + "\" is required"};
      return std::nullopt;
    }
    const auto n = code_points(*v);
    if (!n) throw Invalid{"\"" + std::string(name) + "\" is not valid UTF-8"};
    if (*n > max) {
      throw Invalid{"\"" + std::string(name) + "\" is " + std::to_string(*n) +
                    " characters, at most " + std::to_string(max)};
    }
    for (const unsigned char c : *v) {
      const bool allowed = multiline && (c == '\t' || c == '\n' || c == '\r');
      if ((c < 0x20 || c == 0x7F) && !allowed) {
        throw Invalid{"\"" + std::string(name) + "\" holds a control character"};
      }
    }
    return v;
  }

  // A key: required text without surrounding blanks (events match it exactly).
  std::string key(std::string_view name, std::size_t max) const {
    auto v = *text(name, max, true);
    if (v.front() == ' ' || v.back() == ' ') {
      throw Invalid{"\"" + std::string(name) + "\" has leading or trailing blanks"};
    }
    return v;
  }

  bool boolean(std::string_view name, bool fallback) const {
    const auto v = get(name);
    if (!v || v->empty()) return fallback;
    std::string lower = *v;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "true" || lower == "t" || lower == "1" || lower == "yes") return true;
    if (lower == "false" || lower == "f" || lower == "0" || lower == "no") return false;
    throw Invalid{"\"" + std::string(name) + "\" must be true or false, not \"" + *v + "\""};
  }

  std::int64_t positive_integer(std::string_view name) const {
    const auto v = get(name);
    if (!v || v->empty()) throw Invalid{"\"" + std::string(name) + "\" is required"};
    std::int64_t out = 0;
    const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || end != v->data() + v->size() || out <= 0) {
      throw Invalid{"\"" + std::string(name) + "\" must be a whole number from 1 to " +
                    std::to_string(INT64_MAX) + ", not \"" + *v + "\""};
    }
    return out;
  }

  core::Decimal price(std::string_view name) const {
    const auto v = get(name);
    if (!v || v->empty()) throw Invalid{"\"" + std::string(name) + "\" is required"};
    const auto d = core::Decimal::parse(*v);
    if (!d || d->units() < 0 || d->units() > kMaxPriceUnits || d->units() % kCentUnits != 0) {
      throw Invalid{"\"" + std::string(name) +
                    "\" must be an amount from 0 to 9999999999.99 with at most two decimals, "
                    "not \"" +
                    *v + "\""};
    }
    return *d;
  }

 private:
  const Fields& fields_;
};

}  // namespace

std::string_view table_name(Table table) {
  switch (table) {
    case Table::kCategories:
      return "categories";
    case Table::kProducts:
      return "products";
    case Table::kAssets:
      return "assets";
  }
  return "";
}

std::optional<Table> parse_table(std::string_view name) {
  for (const auto t : {Table::kCategories, Table::kProducts, Table::kAssets}) {
    if (name == table_name(t)) return t;
  }
  return std::nullopt;
}

const std::vector<std::string_view>& columns(Table table) {
  switch (table) {
    case Table::kCategories:
      return kCategoryColumns;
    case Table::kProducts:
      return kProductColumns;
    case Table::kAssets:
      break;
  }
  return kAssetColumns;
}

bool ignores_unknown_fields(Table table) {
  return table == Table::kAssets;
}

std::optional<Table> infer_table(const std::vector<std::string>& names) {
  const auto has = [&](std::string_view n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  if (has("sku")) return Table::kProducts;
  if (has("symbol")) return Table::kAssets;
  if (has("name")) return Table::kCategories;
  return std::nullopt;
}

std::variant<Record, std::string> make_record(Table table, const Fields& fields) {
  try {
    const FieldReader f(table, fields);
    if (table == Table::kAssets) {
      Asset a;
      a.symbol = f.key("symbol", 64);
      a.description = f.text("description", 2000, false);
      a.type = f.text("type", 200, false);
      a.currency = f.text("currency", 32, false);
      a.display_symbol = f.text("display_symbol", 200, false);
      if (!a.display_symbol) a.display_symbol = f.text("displaySymbol", 200, false);
      return Record(std::move(a));
    }
    if (table == Table::kCategories) {
      Category c;
      c.name = f.key("name", 100);
      c.display_name = *f.text("display_name", 200, true);
      c.description = f.text("description", 2000, false, true);
      c.active = f.boolean("active", true);
      return Record(std::move(c));
    }
    Product p;
    p.sku = f.positive_integer("sku");
    p.name = *f.text("name", 200, true);
    p.brand = f.text("brand", 100, false);
    p.category = f.key("category", 100);
    p.list_price = f.price("list_price");
    p.active = f.boolean("active", true);
    return Record(std::move(p));
  } catch (const Invalid& e) {
    return e.why;
  }
}

}  // namespace millrace::catalog
