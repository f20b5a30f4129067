#include "upsert.hpp"

namespace millrace::aggregate::detail {

std::string scaled_text(core::Int128 value, int scale, std::size_t min_decimals) {
  const bool negative = value < 0;
  std::string digits;
  do {
    const auto digit = static_cast<int>(value % 10);
    digits.insert(digits.begin(), static_cast<char>('0' + (negative ? -digit : digit)));
    value /= 10;
  } while (value != 0);
  const auto s = static_cast<std::size_t>(scale);
  if (digits.size() <= s) digits.insert(digits.begin(), s + 1 - digits.size(), '0');
  std::string whole = digits.substr(0, digits.size() - s), frac = digits.substr(digits.size() - s);
  while (frac.size() > min_decimals && frac.back() == '0') frac.pop_back();
  return (negative ? "-" : "") + whole + (frac.empty() ? "" : "." + frac);
}

void WideSum::add(core::Int128 value) {
  core::Int128 sum = 0;
  if (parts.empty() || __builtin_add_overflow(parts.back(), value, &sum)) {
    parts.push_back(value);
  } else {
    parts.back() = sum;
  }
}

void upsert(pqxx::work& tx, const std::string& table, std::vector<Column>& columns) {
  using Combine = Column::Combine;
  std::string names, arrays, select, key, groups, set;
  std::vector<std::string> params;
  std::size_t keys = 0;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    auto& c = columns[i];
    const std::string sep = i == 0 ? "" : ", ";
    names += sep + c.name;
    arrays += sep + "$" + std::to_string(i + 1) + "::" + c.type + "[]";
    const std::string held = table + "." + c.name, added = "EXCLUDED." + c.name;
    switch (c.combine) {
      case Combine::kKey:
        key += (keys == 0 ? "" : ", ") + c.name;
        groups += (keys == 0 ? "" : ", ") + std::to_string(i + 1);
        select += sep + "u." + c.name;
        ++keys;
        break;
      case Combine::kSum:
        select += sep + "sum(u." + c.name + ")::" + c.type;
        set += std::string(set.empty() ? "" : ", ") + c.name + " = " + held + " + " + added;
        break;
      case Combine::kMin:
      case Combine::kMax: {
        const bool min = c.combine == Combine::kMin;
        select += sep + (min ? "min(u." : "max(u.") + c.name + ")";
        set += std::string(set.empty() ? "" : ", ") + c.name + " = " +
               (min ? "LEAST(" : "GREATEST(") + held + ", " + added + ")";
        break;
      }
    }
    params.push_back(c.values.take());
  }
  tx.exec_params("INSERT INTO " + table + " (" + names + ") SELECT " + select + " FROM unnest(" +
                     arrays + ") AS u(" + names + ") GROUP BY " + groups + " ORDER BY " + groups +
                     " ON CONFLICT (" + key + ") DO UPDATE SET " + set,
                 pqxx::prepare::make_dynamic_params(params));
}

}  // namespace millrace::aggregate::detail
