#include "millrace/httpd/listen_address.hpp"

#include <catch2/catch.hpp>

#include "millrace/core/options.hpp"

using millrace::core::UsageError;
using millrace::httpd::parse_listen_address;

namespace {
constexpr std::string_view kSetting = "--http-addr / MILLRACE_HTTP_ADDR";
}  // namespace

TEST_CASE("listen addresses: host:port and [v6]:port", "[listen_address]") {
  auto a = parse_listen_address("127.0.0.1:8080", kSetting, 8080);
  CHECK(a.host == "127.0.0.1");
  CHECK(a.port == 8080);
  a = parse_listen_address("[::1]:0", kSetting, 8080);
  CHECK(a.host == "::1");
  CHECK(a.port == 0);
  a = parse_listen_address("localhost:65535", kSetting, 8080);
  CHECK(a.host == "localhost");
  CHECK(a.port == 65535);
  a = parse_listen_address("[fe80::1%eth0]:9", kSetting, 8080);
  CHECK(a.host == "fe80::1%eth0");
  CHECK(a.port == 9);
}

TEST_CASE("listen addresses: a bad one names the setting, says why and shows examples",
          "[listen_address]") {
  const auto message = [](std::string_view addr, std::string_view setting, int example_port) {
    try {
      parse_listen_address(addr, setting, example_port);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    FAIL("no UsageError for " << addr);
    return std::string();
  };
  CHECK(message("8080", kSetting, 8080) ==
        "--http-addr / MILLRACE_HTTP_ADDR: no port, got \"8080\" (expected host:port, e.g. "
        "127.0.0.1:8080 or [::1]:8080)");
  CHECK(message("::1:80", kSetting, 8080) ==
        "--http-addr / MILLRACE_HTTP_ADDR: an IPv6 host needs brackets, got \"::1:80\" (expected "
        "host:port, e.g. 127.0.0.1:8080 or [::1]:8080)");
  CHECK(message(":8080", "--http-addr / MILLRACE_API_ADDR", 8090) ==
        "--http-addr / MILLRACE_API_ADDR: no host, got \":8080\" (expected host:port, e.g. "
        "127.0.0.1:8090 or [::1]:8090)");
  CHECK(message("[]:8080", kSetting, 8080).find("no host") != std::string::npos);
  for (const std::string_view addr : {"host:", "h:70000", "h:-1", "h:8x", "h:+80", "h: 80"}) {
    INFO(addr);
    CHECK(message(addr, kSetting, 8080).find(": the port must be a number 0..65535, got \"") !=
          std::string::npos);
  }
}

TEST_CASE("loopback hosts reach only this machine, any other is beyond", "[listen]") {
  for (const std::string_view host :
       {"localhost", "127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"}) {
    INFO(host);
    CHECK(millrace::httpd::is_loopback(host));
  }
  for (const std::string_view host : {"0.0.0.0", "::", "10.0.0.5", "192.168.1.1", "::ffff:10.0.0.1",
                                      "example.com", "fe80::1", ""}) {
    INFO(host);
    CHECK_FALSE(millrace::httpd::is_loopback(host));
  }
}

TEST_CASE("beyond loopback a guarded listener needs a token or leave to be open", "[listen]") {
  const millrace::httpd::ListenGuard guard{
      kSetting, 8080, "MILLRACE_X_TOKEN", "; note", "MILLRACE_X_OPEN", "the data"};
  using millrace::httpd::parse_guarded_listen_address;
  CHECK(parse_guarded_listen_address("127.0.0.1:9", guard, false, false).port == 9);
  CHECK(parse_guarded_listen_address("0.0.0.0:9", guard, true, false).host == "0.0.0.0");
  CHECK(parse_guarded_listen_address("0.0.0.0:9", guard, false, true).host == "0.0.0.0");
  try {
    (void)parse_guarded_listen_address("0.0.0.0:9", guard, false, false);
    FAIL("an open listener beyond loopback was accepted");
  } catch (const UsageError& e) {
    CHECK(std::string(e.what()) ==
          "--http-addr / MILLRACE_HTTP_ADDR is 0.0.0.0:9, beyond loopback: set MILLRACE_X_TOKEN "
          "(clients then send Authorization: Bearer <token>; note), or MILLRACE_X_OPEN=true to "
          "serve the data to anyone who can connect");
  }
}
