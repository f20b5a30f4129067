#include "millrace/httpd/listen_address.hpp"

#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <string>

#include "millrace/core/options.hpp"

namespace millrace::httpd {

bool is_loopback(std::string_view host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return false;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6())
        .is_loopback();
  }
  return address.is_loopback();
}

ListenAddress parse_listen_address(std::string_view addr, std::string_view setting,
                                   int example_port) {
  const std::string a(addr);
  const auto fail = [&](const std::string& why) {
    const std::string port = std::to_string(example_port);
    throw core::UsageError(std::string(setting) + ": " + why + ", got \"" + a +
                           "\" (expected host:port, e.g. 127.0.0.1:" + port + " or [::1]:" + port +
                           ")");
  };
  const auto colon = a.rfind(':');
  if (colon == std::string::npos) fail("no port");
  std::string host = a.substr(0, colon);
  const std::string port = a.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    fail("an IPv6 host needs brackets");
  }
  if (host.empty()) fail("no host");
  int value = -1;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 0 ||
      value > 65535) {
    fail("the port must be a number 0..65535");
  }
  return {host, value};
}

ListenAddress parse_guarded_listen_address(const std::string& addr, const ListenGuard& guard,
                                           bool has_token, bool allow_open) {
  auto where = parse_listen_address(addr, guard.address_setting, guard.example_port);
  if (!has_token && !allow_open && !is_loopback(where.host)) {
    throw core::UsageError(
        std::string(guard.address_setting) + " is " + addr + ", beyond loopback: set " +
        std::string(guard.token_setting) + " (clients then send Authorization: Bearer <token>" +
        std::string(guard.token_note) + "), or " + std::string(guard.open_setting) +
        "=true to serve " + std::string(guard.served) + " to anyone who can connect");
  }
  return where;
}

}  // namespace millrace::httpd
