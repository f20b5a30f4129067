#pragma once

// A WebSocket client (RFC 6455) over TCP or TLS, for a source that reads a
// feed: one connection at a time, blocking calls for the thread that owns
// it, and interrupt() from any other. Boost.Beast stays behind this header.
//
// Caller contract: connect(), then send_text() and read() on one thread;
// after read() returns kEnded (or any call throws) the connection is gone
// and connect() starts a new one. A read() that returns kTimeout leaves
// the frame it was reading in hand: the next read() goes on with it. interrupt() may be called from
// any thread at any time: the call in progress, and every later one until connect(), ends as if the
// connection had been lost ("interrupted"). Pings from the server are answered inside read(); once
// nothing is heard for idle_timeout/2, read() pings the server, and ends the connection ("stalled")
// if a further idle_timeout/2 passes without a byte from it. read() overwrites `frame` and may
// keep its buffer for the next one.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace millrace::httpd {

struct WebSocketOptions {
  std::string url;      // ws://host[:port]/path?query or wss://...
  std::string ca_file;  // wss: the CAs to trust (PEM); empty: the system's
  std::chrono::milliseconds connect_timeout{10'000};  // resolve, TCP, TLS and upgrade
  std::chrono::milliseconds idle_timeout{30'000};
  // A frame longer than this is read to its end but not kept: read()
  // returns its first max_frame_bytes bytes, marked too large.
  std::size_t max_frame_bytes = 1 << 20;
  std::string user_agent = "millrace-websocket";
};

struct WebSocketFrame {
  enum class Type { kText, kBinary, kTooLarge };
  Type type = Type::kText;
  std::string data;      // the frame (kTooLarge: its first max_frame_bytes bytes)
  std::size_t size = 0;  // its whole length in bytes
};

// The parts of a ws:// or wss:// URL. Throws core::UsageError naming what
// is wrong (never the query, which may hold a token).
struct WebSocketUrl {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::string port;
  std::string target;  // path and query, "/" at least
  // For logs and metrics: scheme, host, port and path; the query, which
  // often carries an API token, as "?...".
  std::string redacted() const;
  static WebSocketUrl parse(std::string_view url);
};

class WebSocketClient {
 public:
  // Throws core::UsageError for a URL it cannot use or a CA file that
  // cannot be read.
  explicit WebSocketClient(WebSocketOptions options);
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // Resolves, connects, verifies the server's certificate and name (wss),
  // and upgrades. Throws core::InfraError (retryable) saying which step
  // failed and why: a refused upgrade names the HTTP status.
  void connect();
  // Throws core::InfraError (retryable) when the connection is lost.
  void send_text(std::string_view message);
  // The next text or binary frame into `frame` (kFrame); kTimeout when
  // none is whole by `deadline`; kEnded once the connection has ended, for
  // the reason ended() gives (the server's close code and reason, a reset,
  // a stall, an interrupt).
  enum class Read { kFrame, kTimeout, kEnded };
  Read read(WebSocketFrame& frame, std::chrono::steady_clock::time_point deadline);
  // Why the last connection ended: "" while it is up.
  const std::string& ended() const;
  // Closes the connection cleanly (code 1001, going away), within the
  // connect timeout; a connection already gone is left as it is.
  void close();
  // See the caller contract above.
  void interrupt();
  // Clears an interrupt, so that connect() may be called again.
  void resume();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace millrace::httpd
