// The server against clients that misbehave, on purpose or not: more
// connections than the cap, requests refused before their body, clients
// that send too slowly, headers that are too large, and bodies that lie
// about their length. Each ends in a clear answer or a closed connection,
// and never in a handler seeing a request it should not.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "millrace/httpd/server.hpp"
#include "raw_client.hpp"
#include "rig.hpp"

using namespace millrace::httpd;
using millrace::httpd::testing::Client;
using millrace::httpd::testing::kAuthorized;
using millrace::httpd::testing::post;
using millrace::httpd::testing::Rig;
using millrace::httpd::testing::starts_with;
using namespace std::chrono_literals;

namespace {

// Waits (up to the client's 5 s receive timeout per read) until the server
// closes the connection; false if it is still open after `reads` reads.
bool closed_by_server(Client& client) {
  for (int i = 0; i < 4; ++i) {
    if (client.at_eof()) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("beyond the connection cap a client gets a 503 with Retry-After, and is counted",
          "[server][hardening]") {
  ServerOptions options;
  options.max_connections = 2;
  Rig rig(options);
  std::optional<Client> first(rig.server.port());
  Client second(rig.server.port());
  // Both are served (a request each proves the server has counted them).
  REQUIRE(first->send_raw(post("{}")).empty());
  REQUIRE(starts_with(first->receive(), "HTTP/1.1 200 "));
  REQUIRE(second.send_raw(post("{}")).empty());
  REQUIRE(starts_with(second.receive(), "HTTP/1.1 200 "));
  CHECK(rig.server.connections() == 2);

  Client third(rig.server.port());
  const std::string refused = third.receive();
  CHECK(starts_with(refused, "HTTP/1.1 503 "));
  CHECK(refused.find("Retry-After: 1") != std::string::npos);
  CHECK(refused.find("Connection: close") != std::string::npos);
  CHECK(refused.find(R"({"refused":"too_many_connections"})") != std::string::npos);
  third.finish_sending();
  CHECK(closed_by_server(third));
  CHECK(rig.handler.refused_connections == 1);
  CHECK(rig.server.connections() == 2);  // the refused one was never counted

  // A freed place serves again.
  first.reset();
  std::optional<std::string> answer;
  for (int attempt = 0; attempt < 50 && !answer; ++attempt) {
    Client next(rig.server.port());
    REQUIRE(next.send_raw(post("{}")).empty());
    const std::string reply = next.receive();
    if (starts_with(reply, "HTTP/1.1 200 ")) answer = reply;
    if (!answer) std::this_thread::sleep_for(20ms);  // the server has not seen the close yet
  }
  CHECK(answer.has_value());
}

TEST_CASE(
    "a request refused before its body is answered, its body never reaches the handler, "
    "and the connection stays usable",
    "[server][hardening]") {
  Rig rig(ServerOptions{});
  Client client(rig.server.port());
  const std::string body(200'000, 'x');
  REQUIRE(client.send_raw(post(body, "")).empty());  // no Authorization
  const std::string refused = client.receive();
  CHECK(starts_with(refused, "HTTP/1.1 401 "));
  // Keep-alive: the same connection then carries an authorized request.
  REQUIRE(client.send_raw(post("{\"a\":1}")).empty());
  const std::string served = client.receive();
  CHECK(starts_with(served, "HTTP/1.1 200 "));
  CHECK(served.find(R"({"body_bytes":7})") != std::string::npos);
  CHECK(rig.handler.handled() == std::vector<std::string>{"POST /events 7"});
}

TEST_CASE("a client that sends its headers too slowly is disconnected", "[server][hardening]") {
  ServerOptions options;
  options.idle_timeout = 300ms;
  Rig rig(options);
  Client client(rig.server.port());
  // A slowloris: one byte of headers at a time, never finishing them.
  const std::string head = "GET /events HTTP/1.1\r\nHost: t\r\nX-Slow: " + std::string(200, 'a');
  bool cut_off = false;
  for (char c : head) {
    if (!client.send_raw(std::string(1, c)).empty()) {
      cut_off = true;
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  CHECK((cut_off || closed_by_server(client)));
  CHECK(rig.handler.handled().empty());
}

TEST_CASE("a body that stops short of its Content-Length is dropped with the connection",
          "[server][hardening]") {
  ServerOptions options;
  options.transfer_timeout = 300ms;
  Rig rig(options);
  Client client(rig.server.port());
  REQUIRE(client
              .send_raw("POST /events HTTP/1.1\r\nHost: t\r\n" + kAuthorized +
                        "Content-Length: 1000\r\n\r\n" + std::string(100, 'x'))
              .empty());
  CHECK(closed_by_server(client));
  CHECK(rig.handler.handled().empty());
}

TEST_CASE("bytes past a Content-Length are the next request, and garbage there is a 400",
          "[server][hardening]") {
  Rig rig(ServerOptions{});
  Client client(rig.server.port());
  // Declares 2 bytes, sends 2 and then a line that is no request.
  REQUIRE(client
              .send_raw("POST /events HTTP/1.1\r\nHost: t\r\n" + kAuthorized +
                        "Content-Length: 2\r\n\r\n{}not a request\r\n\r\n")
              .empty());
  const std::string served = client.receive();
  CHECK(starts_with(served, "HTTP/1.1 200 "));
  CHECK(served.find(R"({"body_bytes":2})") != std::string::npos);
  const std::string refused = client.receive();
  CHECK(starts_with(refused, "HTTP/1.1 400 "));
  CHECK(refused.find(R"({"refused":"bad_request"})") != std::string::npos);
  CHECK(rig.handler.handled() == std::vector<std::string>{"POST /events 2"});
}

TEST_CASE("ambiguous or malformed body lengths are refused with 400", "[server][hardening]") {
  Rig rig(ServerOptions{});
  const std::vector<std::string> heads = {
      // Both framings at once: the request-smuggling shape.
      "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
      "Content-Length: 4\r\nContent-Length: 5\r\n",
      "Content-Length: -1\r\n",
      "Content-Length: 4x\r\n",
      "Content-Length: 99999999999999999999999999\r\n",
  };
  for (const auto& head : heads) {
    INFO(head);
    Client client(rig.server.port());
    REQUIRE(
        client.send_raw("POST /events HTTP/1.1\r\nHost: t\r\n" + kAuthorized + head + "\r\n{}{}")
            .empty());
    const std::string reply = client.receive();
    CHECK(starts_with(reply, "HTTP/1.1 400 "));
  }
  // A chunk size that overflows 64 bits.
  Client client(rig.server.port());
  REQUIRE(
      client
          .send_raw("POST /events HTTP/1.1\r\nHost: t\r\n" + kAuthorized +
                    "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nxx\r\n0\r\n\r\n")
          .empty());
  CHECK(starts_with(client.receive(), "HTTP/1.1 400 "));
  CHECK(rig.handler.handled().empty());
}

TEST_CASE("headers over the limit get a 431 and the connection closes", "[server][hardening]") {
  Rig rig(ServerOptions{});
  Client client(rig.server.port());
  REQUIRE(client
              .send_raw("GET /events HTTP/1.1\r\nHost: t\r\n" + kAuthorized +
                        "X-Big: " + std::string(20 * 1024, 'a') + "\r\n\r\n")
              .empty());
  const std::string reply = client.receive();
  CHECK(starts_with(reply, "HTTP/1.1 431 "));
  CHECK(reply.find("Connection: close") != std::string::npos);
  client.finish_sending();
  CHECK(closed_by_server(client));
  CHECK(rig.handler.handled().empty());
}
