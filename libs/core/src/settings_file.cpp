#include "millrace/core/settings_file.hpp"

#include <functional>
#include <map>
#include <string>

#include "millrace/core/options.hpp"

namespace millrace::core {

namespace {

std::string_view trim(std::string_view text) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

bool is_variable_name(std::string_view name) {
  if (!name.starts_with("MILLRACE_") || name.size() == 9) return false;
  for (const char c : name) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

std::vector<SettingsEntry> parse_settings_file(std::string_view text, const std::string& path) {
  std::vector<SettingsEntry> out;
  std::map<std::string, int, std::less<>> seen;  // name, line
  int number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view raw = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++number;
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = path + ":" + std::to_string(number) + ": ";
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      throw UsageError(where + "expected MILLRACE_NAME=value (a comment starts with #)");
    }
    const std::string name(trim(line.substr(0, eq)));
    if (!is_variable_name(name)) {
      throw UsageError(where + "\"" + name +
                       "\" is not a MILLRACE_* variable name (expected MILLRACE_NAME=value)");
    }
    if (const auto it = seen.find(name); it != seen.end()) {
      throw UsageError(where + name + " is set twice (first at line " + std::to_string(it->second) +
                       ")");
    }
    seen.emplace(name, number);
    out.push_back({name, std::string(trim(line.substr(eq + 1))), number});
  }
  return out;
}

}  // namespace millrace::core
