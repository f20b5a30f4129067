#include "millrace/core/property_list.hpp"

#include <stdexcept>

namespace millrace::core {

namespace {

std::string_view trimmed(std::string_view item) {
  while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
  while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
  return item;
}

// The item with each "\," read as a comma.
std::string unescaped(std::string_view item) {
  std::string out;
  out.reserve(item.size());
  for (std::size_t i = 0; i < item.size(); ++i) {
    if (item[i] == '\\' && i + 1 < item.size() && item[i + 1] == ',') continue;
    out += item[i];
  }
  return out;
}

}  // namespace

std::vector<std::string_view> property_items(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t begin = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != ',' || (i > 0 && text[i - 1] == '\\')) continue;
    out.push_back(text.substr(begin, i - begin));
    begin = i + 1;
  }
  out.push_back(text.substr(begin));
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_property_list(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto raw : property_items(text)) {
    const auto item = unescaped(trimmed(raw));
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq != std::string::npos && eq > 0) {
      out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    } else if (!out.empty()) {
      out.back().second.append(",").append(item);
    } else {
      throw std::invalid_argument(
          "the first item is not key=value (an item without a key continues the value before "
          "it, and there is none)");
    }
  }
  return out;
}

}  // namespace millrace::core
