#pragma once

#include <string>
#include <string_view>

namespace millrace::httpd {

// Where a server listens, from a setting such as --http-addr.
struct ListenAddress {
  std::string host;  // without the brackets of an IPv6 literal
  int port = 0;      // 0: any free port
};

// Parses "host:port" or "[v6]:port"; the port must be all digits, 0..65535.
// Throws core::UsageError naming `setting` (e.g. "--http-addr /
// MILLRACE_HTTP_ADDR"), with examples on `example_port` (the service's
// default port).
ListenAddress parse_listen_address(std::string_view addr, std::string_view setting,
                                   int example_port);

// True when `host` (as ListenAddress holds it) reaches only this machine:
// "localhost", 127.0.0.0/8, ::1, or an IPv4-mapped loopback address.
// Anything else, "0.0.0.0" and "::" included, is beyond loopback.
bool is_loopback(std::string_view host);

// A service whose HTTP data needs a token beyond loopback: the settings
// that say so, for the refusal's words.
struct ListenGuard {
  std::string_view address_setting;  // "--http-addr / MILLRACE_API_ADDR"
  int example_port;                  // the service's default port
  std::string_view token_setting;    // "MILLRACE_API_READ_TOKEN"
  std::string_view token_note;       // after "Authorization: Bearer <token>", or empty
  std::string_view open_setting;     // "MILLRACE_API_ALLOW_OPEN"
  std::string_view served;           // what an open service serves: "the data"
};

// Parses `addr` as parse_listen_address does; beyond loopback, without a
// token and not allowed open, throws core::UsageError saying which setting
// to set.
ListenAddress parse_guarded_listen_address(const std::string& addr, const ListenGuard& guard,
                                           bool has_token, bool allow_open);

}  // namespace millrace::httpd
