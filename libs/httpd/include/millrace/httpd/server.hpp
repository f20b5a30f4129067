#pragma once

// A small asynchronous HTTP/1.1 server on Boost.Beast, shared by the
// services that speak HTTP (millrace-producer, millrace-api).
//
// Why not thread-per-connection (cpp-httplib, which millrace-producer used
// first): a request that waits for Kafka's acknowledgement (milliseconds)
// held a thread, so throughput was threads / ack latency, and with enough
// threads to keep up the cores spent their time switching between them. Here a fixed pool of
// event-loop threads serves any number of keep-alive connections, and a request waiting for its
// acknowledgement holds only its connection's state. docs/http.md says more.
//
// Beast and Asio stay in src/: the service sees plain views.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace millrace::httpd {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  int threads = 2;
  std::uint64_t max_body_bytes = 1 << 20;
  // An idle keep-alive connection is closed after this; a request must also
  // arrive whole within it once its first byte has.
  std::chrono::milliseconds idle_timeout{5000};
  // A body, once its headers are in, must arrive whole within this, and a
  // response must be taken by the client within it; else the connection
  // closes (a client that sends or reads too slowly holds nothing longer).
  std::chrono::milliseconds transfer_timeout{30000};
  // Connections served at once (0: no cap). One more gets a 503 with
  // Retry-After: 1 (Handler::refusal's format, code too_many_connections)
  // and is closed, and Handler::connection_refused() counts it.
  std::size_t max_connections = 512;
  // TLS: PEM files of the certificate (the server's first, then any
  // intermediates) and of its private key. Both empty: plain HTTP. Read by
  // the constructor; one without the other, an unreadable file or a key
  // that is not the certificate's throws std::runtime_error. TLS 1.2 and
  // 1.3 only; a handshake must finish within idle_timeout.
  std::string tls_cert_file;
  std::string tls_key_file;
};

struct Reply {
  int status = 200;
  std::string body;
  std::string_view content_type = "application/json";
  // Extra headers: names are static text, values owned (a Set-Cookie's is
  // made per reply).
  std::vector<std::pair<std::string_view, std::string>> headers;
  bool close = false;  // ask the client to close (Connection: close)
};

// What a handler sees of a request. Views are valid until the request's
// reply has been handed over.
class Request {
 public:
  virtual ~Request() = default;
  virtual std::string_view method() const = 0;  // "GET", "POST"...
  virtual std::string_view path() const = 0;    // the target before '?'
  virtual std::string_view query() const = 0;   // after '?', may be empty
  // A header's value (the first, if repeated); names match in any case.
  virtual std::optional<std::string_view> header(std::string_view name) const = 0;
  virtual std::string_view body() const = 0;  // empty until the body is read

 protected:
  Request() = default;
  Request(const Request&) = default;
  Request& operator=(const Request&) = default;
};

// A response written piece by piece for as long as both sides want it
// (Server-Sent Events): see Exchange::stream. Chunked transfer encoding;
// the connection closes when the stream ends.
//
// Caller contract: thread-safe; must not be used after its Server is
// destroyed (stop() ends every stream, after which send() only returns
// false).
class Stream {
 public:
  virtual ~Stream() = default;
  // Queues `data` to be written as it is. False once the stream has ended
  // (the client left, the server is stopping, close() was called, or the
  // client fell more than the stream's buffer limit behind and was cut
  // off); the data is then dropped.
  virtual bool send(std::string_view data) = 0;
  // Ends the response after what is queued, then closes the connection.
  virtual void close() = 0;
  virtual bool open() const = 0;

 protected:
  Stream() = default;
  Stream(const Stream&) = default;
  Stream& operator=(const Stream&) = default;
};

// One request's answer, given exactly once: now (reply), or later from any
// thread (defer + finish), or as a stream. Holding it keeps the connection
// alive.
class Exchange {
 public:
  virtual ~Exchange() = default;
  // Answers now. Only from Handler::handle, on the connection's thread.
  virtual void reply(Reply reply) = 0;
  // Answers later: `make` builds the reply on the connection's thread, once,
  // when finish() is called (from any thread) or `timeout` passes, whichever
  // comes first. Only from Handler::handle, once.
  virtual void defer(std::chrono::steady_clock::duration timeout, std::function<Reply()> make) = 0;
  // Thread-safe; calls after the first, or after the timeout, do nothing.
  virtual void finish() = 0;
  // Answers with a stream: `head`'s status and headers now, its body as the
  // first piece, then what the returned Stream is given. A client that has
  // more than `max_buffered` bytes not yet taken is cut off (its stream
  // ends), so one slow reader costs bounded memory. Only from
  // Handler::handle, instead of reply() or defer().
  virtual std::shared_ptr<Stream> stream(Reply head, std::size_t max_buffered) = 0;
  // finish() for many exchanges, handing them to each event loop at once:
  // one wake-up per loop instead of one per exchange. Clears `exchanges`.
  static void finish_all(std::vector<std::shared_ptr<Exchange>>& exchanges);

 protected:
  Exchange() = default;
  Exchange(const Exchange&) = default;
  Exchange& operator=(const Exchange&) = default;
};

class Handler {
 public:
  virtual ~Handler() = default;
  // After the headers, before the body (and before "100 Continue" when the
  // client asked for it). A reply refuses the request without its body: a
  // client that waits for 100 Continue gets it at once and the connection
  // closes; otherwise the body is read off the connection first, so the
  // connection stays usable.
  virtual std::optional<Reply> screen(const Request& request) = 0;
  // With the whole body. Must answer through `exchange`, exactly once.
  virtual void handle(const Request& request, const std::shared_ptr<Exchange>& exchange) = 0;
  // The reply to a request the server refuses by itself, before any route
  // sees it (400 unparsable, 413 body too large, 431 headers too large) or
  // after handle() threw (500): each service answers errors in its own
  // format. `code` is a short snake_case word, `detail` a sentence. Called
  // on a server thread; the status and Connection: close are set after.
  virtual Reply refusal(int status, std::string_view code, std::string_view detail) const = 0;
  // Once each response is written (or the connection failed while writing),
  // for metrics. `path` is empty for a request that could not be parsed.
  virtual void answered(std::string_view path, int status,
                        std::chrono::steady_clock::duration took) noexcept = 0;
  // A connection refused for ServerOptions::max_connections, before its
  // 503 is written (answered() is not called for it). On the accepting
  // thread.
  virtual void connection_refused() noexcept = 0;
  // A TLS handshake that failed (a plain-HTTP client on a TLS port, no
  // common protocol version, a client that gave up); the connection is
  // closed. On the connection's thread.
  virtual void tls_failed(std::string_view reason) noexcept = 0;
};

class Session;

class Server {
 public:
  // `handler` must outlive the server. Binds at once: a taken port throws
  // std::runtime_error.
  Server(ServerOptions options, Handler& handler);
  ~Server();  // stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  bool secure() const;  // serves TLS (ServerOptions::tls_cert_file)
  // Reads the certificate and key files again (a renewed certificate):
  // connections from then on use them, those open keep theirs. Thread-safe.
  // Throws std::runtime_error as the constructor does, and then keeps
  // serving with what it had; std::logic_error without TLS.
  void reload_tls();
  // Connections being served now (those refused for the cap not counted).
  std::size_t connections() const;
  // Starts the event-loop threads.
  void start();
  // Stops accepting, closes idle connections, lets requests being served
  // finish (up to `grace`), then stops the threads. Idempotent.
  void stop(std::chrono::steady_clock::duration grace);
  // Called (on a server thread) if the listener fails by itself.
  void on_failure(std::function<void(std::string)> callback);

 private:
  friend class Session;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace millrace::httpd
