// The client against a server on loopback (cpp-httplib, in this process):
// what each option does to a real exchange, and how failures are classed.
#include "millrace/http/client.hpp"

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

using namespace millrace::http;
using millrace::core::FailureClass;

namespace {

// A server on a free loopback port for one test case.
class Loopback {
 public:
  explicit Loopback(const std::function<void(httplib::Server&)>& routes) {
    routes(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("no loopback port");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Loopback() {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

Response get(Client& client, const std::string& url, const Options& options = {}) {
  Request r;
  r.url = url;
  return client.perform(r, options);
}

}  // namespace

TEST_CASE("an answer's status, headers in lowercase and body", "[http]") {
  Loopback server([](httplib::Server& s) {
    s.Get("/thing", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("X-Thing", "  spaced value ");
      res.set_content("the body", "text/csv");
    });
  });
  auto client = make_client();
  const auto r = get(*client, server.url("/thing"));
  REQUIRE(r.answered());
  CHECK(r.success());
  CHECK(r.status == 200);
  CHECK(r.header("x-thing") == "spaced value");
  CHECK(r.header("content-type") == "text/csv");
  CHECK(r.header("absent").empty());
  CHECK(r.body == "the body");
  CHECK(r.url == server.url("/thing"));
}

TEST_CASE("a POST carries its body and headers, and nothing libcurl would add", "[http]") {
  std::string body, type, expect, agent;
  Loopback server([&](httplib::Server& s) {
    s.Post("/in", [&](const httplib::Request& req, httplib::Response& res) {
      body = req.body;
      type = req.get_header_value("Content-Type");
      expect = req.get_header_value("Expect");
      agent = req.get_header_value("User-Agent");
      res.status = 204;
    });
  });
  auto client = make_client();
  Request r;
  r.method = "POST";
  r.url = server.url("/in");
  const std::string payload(4096, 'x');  // above libcurl's 100-continue threshold of 7.88
  r.body = payload;
  Options o;
  o.user_agent = "millrace-test";
  CHECK(client->perform(r, o).status == 204);
  CHECK(body == payload);
  CHECK(type.empty());
  CHECK(expect.empty());
  CHECK(agent == "millrace-test");
  r.headers = {{"Content-Type", "application/json"}};
  CHECK(client->perform(r, o).status == 204);
  CHECK(type == "application/json");
}

TEST_CASE("a client keeps its connection between requests, a failed answer's body drained",
          "[http]") {
  std::vector<int> ports;
  Loopback server([&](httplib::Server& s) {
    s.Get("/fail", [&](const httplib::Request& req, httplib::Response& res) {
      ports.push_back(req.remote_port);
      res.status = 500;
      res.set_content(std::string(10000, 'e'), "text/plain");
    });
  });
  auto client = make_client();
  Options o;
  o.keep_error_body = 256;
  const auto first = get(*client, server.url("/fail"), o);
  CHECK(first.status == 500);
  CHECK(first.body == std::string(256, 'e'));
  CHECK(first.failure_class() == FailureClass::kRetryable);
  CHECK(get(*client, server.url("/fail"), o).status == 500);
  REQUIRE(ports.size() == 2);
  CHECK(ports[0] == ports[1]);
  // Another client, another connection.
  CHECK(get(*make_client(), server.url("/fail"), o).status == 500);
  REQUIRE(ports.size() == 3);
  CHECK(ports[2] != ports[0]);
}

TEST_CASE("redirects are followed only when asked, and only so far", "[http]") {
  Loopback server([](httplib::Server& s) {
    s.Get("/a", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/b"); });
    s.Get("/b", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/c"); });
    s.Get("/c", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("arrived", "text/plain");
    });
  });
  auto client = make_client();
  const auto kept = get(*client, server.url("/a"));
  CHECK(kept.status == 302);
  CHECK(kept.header("location") == "/b");
  CHECK(kept.failure_class() == FailureClass::kFatal);

  Options follow;
  follow.follow_redirects = true;
  const auto followed = get(*client, server.url("/a"), follow);
  CHECK(followed.status == 200);
  CHECK(followed.body == "arrived");
  CHECK(followed.url == server.url("/c"));

  follow.max_redirects = 1;
  const auto too_many = get(*client, server.url("/a"), follow);
  CHECK(too_many.cause == Cause::kUnusable);
  CHECK(too_many.failure_class() == FailureClass::kFatal);
}

TEST_CASE("a body past max_body fails the request, one up to it does not", "[http]") {
  Loopback server([](httplib::Server& s) {
    s.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(1000, 'b'), "text/plain");
    });
  });
  auto client = make_client();
  Options o;
  o.max_body = 999;
  const auto refused = get(*client, server.url("/big"), o);
  CHECK(refused.cause == Cause::kTooLarge);
  CHECK(refused.body.empty());
  CHECK(refused.failure_class() == FailureClass::kFatal);
  o.max_body = 1000;
  CHECK(get(*client, server.url("/big"), o).body.size() == 1000);
}

TEST_CASE("on_body takes a 2xx body, and what it throws reaches the caller", "[http]") {
  Loopback server([](httplib::Server& s) {
    s.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("streamed", "text/plain");
    });
    s.Get("/missing", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content("not here", "text/plain");
    });
  });
  auto client = make_client();
  std::string taken;
  Request r;
  r.url = server.url("/ok");
  r.on_body = [&](std::string_view piece) { taken += piece; };
  const auto ok = client->perform(r, {});
  CHECK(taken == "streamed");
  CHECK(ok.body.empty());

  taken.clear();
  r.url = server.url("/missing");
  const auto missing = client->perform(r, {});
  CHECK(taken.empty());
  CHECK(missing.body == "not here");

  r.url = server.url("/ok");
  r.on_body = [](std::string_view) { throw std::invalid_argument("disk full"); };
  CHECK_THROWS_AS(client->perform(r, {}), std::invalid_argument);
}

TEST_CASE("refuse_address stops the connection before it is made", "[http]") {
  int reached = 0;
  Loopback server([&](httplib::Server& s) {
    s.Get("/x", [&](const httplib::Request&, httplib::Response&) { ++reached; });
  });
  auto client = make_client();
  Options o;
  o.refuse_address = [](const sockaddr* address) -> std::optional<std::string> {
    if (address->sa_family == AF_INET) return "loopback is refused";
    return std::nullopt;
  };
  const auto r = get(*client, server.url("/x"), o);
  CHECK(r.cause == Cause::kRefused);
  CHECK(r.error == "loopback is refused");
  CHECK(r.failure_class() == FailureClass::kFatal);
  CHECK(reached == 0);
  o.refuse_address = [](const sockaddr*) -> std::optional<std::string> { return std::nullopt; };
  CHECK(get(*client, server.url("/x"), o).status == 200);
  CHECK(reached == 1);
}

TEST_CASE("a proxy is the one named, none when cleared, the environment's by default", "[http]") {
  std::string host;
  Loopback proxy([&](httplib::Server& s) {
    s.Get(".*", [&](const httplib::Request& req, httplib::Response& res) {
      host = req.get_header_value("Host");
      res.set_content("via the proxy", "text/plain");
    });
  });
  auto client = make_client();
  Options o;
  o.proxy = proxy.url("");
  const auto via = get(*client, "http://origin.invalid/x", o);
  CHECK(via.body == "via the proxy");
  CHECK(host == "origin.invalid");

  Loopback origin([](httplib::Server& s) {
    s.Get("/x", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("direct", "text/plain");
    });
  });
  // http_proxy names the proxy; libcurl skips it for loopback only when
  // no_proxy says so.
  ::setenv("http_proxy", proxy.url("").c_str(), 1);
  ::unsetenv("no_proxy");
  ::unsetenv("NO_PROXY");
  o.proxy.reset();
  const auto from_environment = get(*client, origin.url("/x"), o);
  o.proxy = "";
  const auto cleared = get(*client, origin.url("/x"), o);
  ::unsetenv("http_proxy");
  CHECK(from_environment.body == "via the proxy");
  CHECK(cleared.body == "direct");
}

TEST_CASE("no answer is retryable, an unusable URL is fatal", "[http]") {
  auto client = make_client();
  Options o;
  o.connect_timeout = std::chrono::milliseconds(5000);
  // Nothing listens on port 1 of loopback.
  const auto none = get(*client, "http://127.0.0.1:1/x", o);
  CHECK(none.cause == Cause::kNoAnswer);
  CHECK_FALSE(none.error.empty());
  CHECK(none.failure_class() == FailureClass::kRetryable);
  const auto gopher = get(*client, "gopher://127.0.0.1/x", o);
  CHECK(gopher.cause == Cause::kUnusable);
  CHECK(gopher.failure_class() == FailureClass::kFatal);
}

TEST_CASE("a stalled or slow answer is abandoned as no answer", "[http]") {
  Loopback server([](httplib::Server& s) {
    s.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain", [](size_t offset, httplib::DataSink& sink) {
        if (offset == 0) {
          sink.write("first", 5);
          std::this_thread::sleep_for(std::chrono::seconds(3));
        }
        sink.done();
        return true;
      });
    });
  });
  auto client = make_client();
  Options stall;
  stall.stall_time = std::chrono::seconds(1);
  stall.stall_bytes = 1000;
  CHECK(get(*client, server.url("/slow"), stall).cause == Cause::kNoAnswer);
  Options total;
  total.total_timeout = std::chrono::milliseconds(500);
  CHECK(get(*client, server.url("/slow"), total).cause == Cause::kNoAnswer);
  CHECK(get(*client, server.url("/slow"), {}).body == "first");
}

TEST_CASE("Retry-After is read, and statuses are classed", "[http]") {
  Loopback server([](httplib::Server& s) {
    s.Get("/busy", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_header("Retry-After", "7");
    });
  });
  const auto r = get(*make_client(), server.url("/busy"));
  CHECK(r.status == 503);
  REQUIRE(r.retry_after);
  CHECK(*r.retry_after == std::chrono::seconds(7));
  CHECK(status_class(500) == FailureClass::kRetryable);
  CHECK(status_class(429) == FailureClass::kRetryable);
  CHECK(status_class(408) == FailureClass::kRetryable);
  CHECK(status_class(404) == FailureClass::kFatal);
  CHECK(status_class(301) == FailureClass::kFatal);
}
