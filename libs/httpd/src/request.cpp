#include "millrace/httpd/request.hpp"

#include <cstddef>

namespace millrace::httpd {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

bool is_header_space(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s, bool (*space)(char)) {
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<BodyFormat> body_format(std::string_view content_type) {
  std::string_view rest = content_type;
  const auto semi = rest.find(';');
  const std::string_view media = trim(rest.substr(0, semi), is_header_space);
  std::optional<BodyFormat> format;
  if (iequals(media, "application/json")) {
    format = BodyFormat::kJson;
  } else if (iequals(media, "application/x-ndjson")) {
    format = BodyFormat::kNdjson;
  } else {
    return std::nullopt;
  }
  rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
  while (!rest.empty()) {
    const auto next = rest.find(';');
    const std::string_view param = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
    const auto eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (!iequals(trim(param.substr(0, eq), is_header_space), "charset")) continue;
    std::string_view value = trim(param.substr(eq + 1), is_header_space);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!iequals(value, "utf-8") && !iequals(value, "utf8")) return std::nullopt;
  }
  return format;
}

bool constant_time_equal(std::string_view given, std::string_view expected) {
  // Every byte of `expected` is visited whatever `given` holds; the length
  // difference is folded in rather than returned early.
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const char g = i < given.size() ? given[i] : 0;
    diff |= static_cast<unsigned char>(g ^ expected[i]);
  }
  return diff == 0;
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kScheme = "bearer";
  authorization = trim(authorization, is_header_space);
  if (authorization.size() <= kScheme.size() ||
      !iequals(authorization.substr(0, kScheme.size()), kScheme) ||
      !is_header_space(authorization[kScheme.size()])) {
    return false;
  }
  const std::string_view given = trim(authorization.substr(kScheme.size()), is_header_space);
  return constant_time_equal(given, token);
}

std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
  }
  return std::nullopt;
}

}  // namespace millrace::httpd
