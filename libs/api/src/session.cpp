#include "session.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <stdexcept>

#include "millrace/httpd/request.hpp"

namespace millrace::api {

namespace {

constexpr std::string_view kMacContext = "millrace-session-v1:";

// The value of `name` in a Cookie header ("a=1; b=2"), or nullopt.
std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto end = header.find(';');
    std::string_view pair = httpd::trim(header.substr(0, end), httpd::is_header_space);
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
    return pair.substr(eq + 1);
  }
  return std::nullopt;
}

}  // namespace

SessionCookies::SessionCookies(std::string key, std::chrono::seconds lifetime, bool secure)
    : key_(std::move(key)), lifetime_(lifetime), secure_(secure) {
  if (key_.empty()) throw std::logic_error("SessionCookies needs a key");
}

std::string SessionCookies::mac(std::int64_t expires) const {
  const std::string message = std::string(kMacContext) + std::to_string(expires);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest,
           &length) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed in OpenSSL");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

std::string SessionCookies::attributes() const {
  return std::string("; Path=/; HttpOnly; SameSite=Strict") + (secure_ ? "; Secure" : "");
}

std::string SessionCookies::issue(std::int64_t now_unix_s) const {
  const std::int64_t expires = now_unix_s + lifetime_.count();
  return std::string(kSessionCookie) + "=" + std::to_string(expires) + "." + mac(expires) +
         "; Max-Age=" + std::to_string(lifetime_.count()) + attributes();
}

std::string SessionCookies::clear() const {
  return std::string(kSessionCookie) + "=; Max-Age=0" + attributes();
}

bool SessionCookies::valid(std::string_view cookie_header, std::int64_t now_unix_s) const {
  const auto value = cookie_value(cookie_header, kSessionCookie);
  if (!value) return false;
  const auto dot = value->find('.');
  if (dot == std::string_view::npos) return false;
  std::int64_t expires = 0;
  const std::string_view digits = value->substr(0, dot);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), expires);
  if (ec != std::errc() || end != digits.data() + digits.size() || expires <= now_unix_s) {
    return false;
  }
  // A session cannot outlive a lifetime from now: a cookie whose expiry
  // lies further ahead was not issued by this configuration.
  if (expires - now_unix_s > lifetime_.count()) return false;
  return httpd::constant_time_equal(value->substr(dot + 1), mac(expires));
}

}  // namespace millrace::api
