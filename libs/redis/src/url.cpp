#include <charconv>
#include <limits>

#include "millrace/core/options.hpp"
#include "millrace/core/secrets.hpp"
#include "millrace/redis/client.hpp"

namespace millrace::redis {

namespace {

constexpr std::string_view kScheme = "redis://";

[[noreturn]] void refuse(std::string_view url, std::string_view problem) {
  throw core::UsageError("redis URL '" + core::mask_secrets(url) + "': " + std::string(problem) +
                         " (expected redis://host:port[/db])");
}

// A decimal number in [min, max], nothing else (no sign, no spaces).
bool parse_number(std::string_view text, int min, int max, int& out) {
  if (text.empty() || text.size() > 10) return false;
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  if (value < min || value > max) return false;
  out = value;
  return true;
}

}  // namespace

Endpoint parse_url(std::string_view url) {
  if (url.starts_with("rediss://")) refuse(url, "TLS (rediss://) is not supported");
  if (!url.starts_with(kScheme)) refuse(url, "it does not start with redis://");
  const std::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) {
    refuse(url, "query parameters are not supported");
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view path =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (authority.find('@') != std::string_view::npos) {
    refuse(url, "credentials are not supported");
  }

  Endpoint endpoint;
  std::string_view port;
  bool has_port = false;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) refuse(url, "an IPv6 address lacks its closing ']'");
    endpoint.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') refuse(url, "unexpected text after the IPv6 address");
      port = after.substr(1);
      has_port = true;
    }
  } else {
    const auto colon = authority.find(':');
    endpoint.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
      if (port.find(':') != std::string_view::npos) {
        refuse(url, "an IPv6 address goes in brackets, e.g. redis://[::1]:6379");
      }
    }
  }
  if (endpoint.host.empty()) refuse(url, "the host is missing");
  if (has_port && !parse_number(port, 1, 65535, endpoint.port)) {
    refuse(url, "the port must be a number from 1 to 65535, got '" + std::string(port) + "'");
  }
  if (!path.empty() && !parse_number(path, 0, std::numeric_limits<int>::max(), endpoint.db)) {
    refuse(url, "the database must be a number (0, 1, ...), got '" + std::string(path) + "'");
  }
  return endpoint;
}

std::string to_url(const Endpoint& endpoint) {
  const bool ipv6 = endpoint.host.find(':') != std::string::npos;
  return std::string(kScheme) + (ipv6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" +
         std::to_string(endpoint.port) + "/" + std::to_string(endpoint.db);
}

}  // namespace millrace::redis
