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

}  // namespace millrace::httpd
