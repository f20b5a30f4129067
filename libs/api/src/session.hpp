#pragma once

// The dashboard's session. A browser cannot add an Authorization header to
// an EventSource (GET /v1/stream), so POST /v1/session trades the read token
// for a cookie that stands for it until it expires. The cookie holds no
// secret: its expiry and an HMAC-SHA256 of it keyed with the read token, so
// changing the token ends every session. No I/O and no clock of its own:
// the caller says what time it is.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace millrace::api {

inline constexpr std::string_view kSessionCookie = "millrace_session";

class SessionCookies {
 public:
  // `key`: the read token (not empty). `secure`: served over TLS, so the
  // cookie is marked Secure and never sent over plain HTTP.
  SessionCookies(std::string key, std::chrono::seconds lifetime, bool secure);

  // A Set-Cookie value for a session starting at `now_unix_s`: HttpOnly
  // (scripts never see it), SameSite=Strict (other sites' pages cannot use
  // it), Path=/.
  std::string issue(std::int64_t now_unix_s) const;
  // A Set-Cookie value that ends the browser's session.
  std::string clear() const;
  // Whether a Cookie header holds a session this key issued that has not
  // expired at `now_unix_s`. Malformed cookies are simply not sessions.
  bool valid(std::string_view cookie_header, std::int64_t now_unix_s) const;

 private:
  std::string mac(std::int64_t expires) const;  // lower-case hex
  std::string attributes() const;

  std::string key_;
  std::chrono::seconds lifetime_;
  bool secure_;
};

}  // namespace millrace::api
