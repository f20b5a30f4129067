// The event-loop server on loopback.
// - Deferred replies: a reply nobody finishes is answered by the loop's sweep
//   once its deadline passes, and a late finish() changes nothing. The
//   service relies on this when Kafka never reports (docs/http.md:
//   "timeout"); end to end, librdkafka's own message timeout usually answers
//   first, so only these tests pin the sweep down.
// - Refusing a body it will not read (413): the client can still send the
//   rest and then read the refusal, rather than meet a reset.
#include "millrace/httpd/server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "raw_client.hpp"

using namespace millrace::httpd;
using millrace::httpd::testing::Client;
using namespace std::chrono_literals;

namespace {

// Defers /never (with a deadline) and answers /now at once; keeps what it
// deferred so the test can finish() it.
class DeferringHandler final : public Handler {
 public:
  explicit DeferringHandler(std::chrono::milliseconds deadline) : deadline_(deadline) {}

  std::optional<Reply> screen(const Request&) override { return std::nullopt; }

  void handle(const Request& request, const std::shared_ptr<Exchange>& exchange) override {
    if (request.path() == "/now") {
      Reply r;
      r.body = R"({"answered":"now"})";
      return exchange->reply(std::move(r));
    }
    exchange->defer(deadline_, [this] {
      std::lock_guard lock(mutex_);
      ++made_;
      Reply r;
      r.status = 503;
      r.body = R"({"reason":"timeout"})";
      return r;
    });
    std::lock_guard lock(mutex_);
    deferred_.push_back(exchange);
  }

  Reply refusal(int, std::string_view code, std::string_view) const override {
    Reply r;
    r.body = std::string(R"({"refused":")") + std::string(code) + "\"}";
    r.content_type = "application/problem+json";
    return r;
  }

  void answered(std::string_view, int, std::chrono::steady_clock::duration) noexcept override {}
  void connection_refused() noexcept override {}
  void tls_failed(std::string_view) noexcept override {}

  int made() {
    std::lock_guard lock(mutex_);
    return made_;
  }
  std::vector<std::shared_ptr<Exchange>> take_deferred() {
    std::lock_guard lock(mutex_);
    return std::move(deferred_);
  }

 private:
  std::chrono::milliseconds deadline_;
  std::mutex mutex_;
  int made_ = 0;
  std::vector<std::shared_ptr<Exchange>> deferred_;
};

// A server with a DeferringHandler, and a client connected to it that has
// sent a request to be deferred.
struct DeferredRequest {
  explicit DeferredRequest(std::chrono::milliseconds deadline)
      : handler(deadline), server(ServerOptions{}, handler) {
    server.start();
    client.emplace(server.port());
    client->send("/never");
  }
  ~DeferredRequest() { server.stop(1s); }
  DeferredRequest(const DeferredRequest&) = delete;
  DeferredRequest& operator=(const DeferredRequest&) = delete;

  DeferringHandler handler;
  Server server;
  std::optional<Client> client;
};

}  // namespace

TEST_CASE("a deferred reply nobody finishes is answered at its deadline, once", "[server]") {
  DeferredRequest t(300ms);
  auto& handler = t.handler;
  auto& client = *t.client;
  const std::string timed_out = client.receive();
  CHECK(timed_out.rfind("HTTP/1.1 503 ", 0) == 0);
  CHECK(timed_out.find(R"({"reason":"timeout"})") != std::string::npos);
  CHECK(handler.made() == 1);

  // A finish() after the deadline neither builds nor writes a second reply.
  auto late = handler.take_deferred();
  REQUIRE(late.size() == 1);
  late.front()->finish();
  CHECK(client.unsolicited(300ms).empty());
  CHECK(handler.made() == 1);

  // The connection is still good for the next request.
  client.send("/now");
  const std::string next = client.receive();
  CHECK(next.rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(next.find(R"({"answered":"now"})") != std::string::npos);

  late.clear();
}

TEST_CASE("a deferred reply is answered when finished, long before its deadline", "[server]") {
  // Far beyond the client's 5 s receive timeout: only finish() can answer in time.
  DeferredRequest t(60s);
  auto& handler = t.handler;
  // handle() runs on a loop thread once the request is in: wait for it.
  std::vector<std::shared_ptr<Exchange>> deferred;
  for (int i = 0; i < 5000 && deferred.empty(); ++i) {
    deferred = handler.take_deferred();
    if (deferred.empty()) std::this_thread::sleep_for(1ms);
  }
  REQUIRE(deferred.size() == 1);
  Exchange::finish_all(deferred);
  const std::string reply = t.client->receive();
  CHECK(reply.rfind("HTTP/1.1 503 ", 0) == 0);
  CHECK(handler.made() == 1);
}

TEST_CASE("a body over the limit gets its 413 even while the client is still sending it",
          "[server]") {
  DeferringHandler handler(1s);
  ServerOptions options;
  options.max_body_bytes = 4096;
  Server server(options, handler);
  server.start();
  Client client(server.port());
  const std::string body(1 << 20, 'x');
  REQUIRE(client
              .send_raw("POST /events HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                        "Content-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n")
              .empty());
  // The server refuses on the headers alone; by now it has answered and,
  // without a lingering close, closed with the body unread.
  std::this_thread::sleep_for(300ms);
  for (std::size_t at = 0; at < body.size(); at += 16 * 1024) {
    INFO("sending the body at byte " << at);
    REQUIRE(client.send_raw(std::string_view(body).substr(at, 16 * 1024)).empty());
  }
  const std::string reply = client.receive();
  CHECK(reply.rfind("HTTP/1.1 413 ", 0) == 0);
  CHECK(reply.find("Connection: close") != std::string::npos);
  // In the handler's own format.
  CHECK(reply.find("Content-Type: application/problem+json") != std::string::npos);
  CHECK(reply.find(R"({"refused":"body_too_large"})") != std::string::npos);
  // The server has half-closed; once the client is done too, it closes.
  client.finish_sending();
  CHECK(client.at_eof());
  server.stop(1s);
}

namespace {

// Streams /stream: the head's body first, then what the test sends through
// the Stream it keeps.
class StreamingHandler final : public Handler {
 public:
  explicit StreamingHandler(std::size_t max_buffered) : max_buffered_(max_buffered) {}
  std::optional<Reply> screen(const Request&) override { return std::nullopt; }
  void handle(const Request&, const std::shared_ptr<Exchange>& exchange) override {
    Reply head;
    head.content_type = "text/event-stream";
    head.headers = {{"Cache-Control", "no-store"}};
    head.body = "retry: 1000\n\n";
    auto s = exchange->stream(std::move(head), max_buffered_);
    std::lock_guard lock(mutex_);
    stream_ = std::move(s);
    cv_.notify_all();
  }
  Reply refusal(int, std::string_view, std::string_view) const override { return {}; }
  void connection_refused() noexcept override {}
  void tls_failed(std::string_view) noexcept override {}
  void answered(std::string_view path, int status,
                std::chrono::steady_clock::duration) noexcept override {
    std::lock_guard lock(mutex_);
    answered_.emplace_back(std::string(path) + " " + std::to_string(status));
    cv_.notify_all();
  }
  std::shared_ptr<Stream> stream() {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, 5s, [&] { return stream_ != nullptr; });
    return stream_;
  }
  std::vector<std::string> answered() {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, 5s, [&] { return !answered_.empty(); });
    return answered_;
  }

 private:
  std::size_t max_buffered_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::shared_ptr<Stream> stream_;
  std::vector<std::string> answered_;
};

// Reads from `fd` until `text` has arrived (or 5 s passed); all read so far.
std::string read_until(int fd, std::string& seen, std::string_view text) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (seen.find(text) == std::string::npos && std::chrono::steady_clock::now() < until) {
    char chunk[4096];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    seen.append(chunk, static_cast<std::size_t>(n));
  }
  return seen;
}

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string request = "GET /stream HTTP/1.1\r\nHost: test\r\n\r\n";
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  return fd;
}

}  // namespace

TEST_CASE("a stream sends its head, then each piece as a chunk, and ends with the last chunk",
          "[server][stream]") {
  StreamingHandler handler(1 << 20);
  Server server(ServerOptions{}, handler);
  server.start();
  const int fd = connect_to(server.port());
  auto stream = handler.stream();
  REQUIRE(stream);
  std::string seen;
  read_until(fd, seen, "retry: 1000\n\n\r\n");
  CHECK(seen.find("HTTP/1.1 200 OK\r\n") == 0);
  CHECK(seen.find("Content-Type: text/event-stream\r\n") != std::string::npos);
  CHECK(seen.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(seen.find("Cache-Control: no-store\r\n") != std::string::npos);
  CHECK(seen.find("Content-Length") == std::string::npos);
  CHECK(seen.find("\r\n\r\nd\r\nretry: 1000\n\n\r\n") != std::string::npos);

  // From another thread, as the API's hub sends.
  std::thread([&] { CHECK(stream->send("data: one\n\n")); }).join();
  read_until(fd, seen, "b\r\ndata: one\n\n\r\n");
  CHECK(seen.find("b\r\ndata: one\n\n\r\n") != std::string::npos);
  stream->close();
  read_until(fd, seen, "0\r\n\r\n");
  CHECK(seen.size() >= 5);
  CHECK(seen.compare(seen.size() - 5, 5, "0\r\n\r\n") == 0);
  char byte;
  CHECK(::recv(fd, &byte, 1, 0) == 0);  // and the connection closes
  CHECK_FALSE(stream->send("data: late\n\n"));
  CHECK(handler.answered() == std::vector<std::string>{"/stream 200"});
  ::close(fd);
  server.stop(1s);
}

TEST_CASE("a client that leaves ends its stream, one too far behind is cut off",
          "[server][stream]") {
  SECTION("leaves") {
    StreamingHandler handler(1 << 20);
    Server server(ServerOptions{}, handler);
    server.start();
    const int fd = connect_to(server.port());
    auto stream = handler.stream();
    REQUIRE(stream);
    ::close(fd);
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (stream->open() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(10ms);
    }
    CHECK_FALSE(stream->open());
    CHECK_FALSE(stream->send("data: nobody\n\n"));
    server.stop(1s);
  }
  SECTION("falls behind") {
    StreamingHandler handler(64 * 1024);
    Server server(ServerOptions{}, handler);
    server.start();
    const int fd = connect_to(server.port());  // and never reads
    auto stream = handler.stream();
    REQUIRE(stream);
    const std::string piece(16 * 1024, 'x');
    bool cut = false;
    // The socket buffers take some megabytes first; then the queue fills.
    for (int i = 0; i < 100'000 && !cut; ++i) cut = !stream->send(piece);
    CHECK(cut);
    CHECK_FALSE(stream->open());
    ::close(fd);
    server.stop(1s);
  }
}

TEST_CASE("stopping the server ends its streams with the last chunk", "[server][stream]") {
  StreamingHandler handler(1 << 20);
  Server server(ServerOptions{}, handler);
  server.start();
  const int fd = connect_to(server.port());
  auto stream = handler.stream();
  REQUIRE(stream);
  std::string seen;
  read_until(fd, seen, "retry");
  std::thread stopper([&] { server.stop(5s); });
  read_until(fd, seen, "0\r\n\r\n");
  stopper.join();
  CHECK(seen.compare(seen.size() - 5, 5, "0\r\n\r\n") == 0);
  CHECK_FALSE(stream->open());
  ::close(fd);
}
