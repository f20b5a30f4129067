#include "millrace/httpd/server.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "millrace/runtime/log.hpp"
#include "request_parser.hpp"

namespace millrace::httpd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr std::string_view kComponent = "http";
// Initial read buffer per connection; read_body() makes room for a larger body.
constexpr std::size_t kReadReserve = 4096;
constexpr std::size_t kBodyReadReserve = 64 * 1024;
// How often each loop looks for idle connections and overdue replies. Per
// connection timers would cost a timer-queue update (and often a
// timerfd_settime) on every read and write; one sweep per loop costs
// nothing per request, and deadlines are only this much late.
constexpr milliseconds kSweepEvery{100};
constexpr milliseconds kAcceptRetry{50};
// After refusing a request whose body was not read (413, a parse error, a
// refused 100-continue), the connection half-closes and discards what the
// client still sends for up to this long before closing. Closing at once
// with unread input makes the kernel answer the client's next bytes with a
// reset: a client still writing its body gets EPIPE or ECONNRESET and never
// reads the 413 (nginx's lingering close, for the same reason).
constexpr Clock::duration kLingerTimeout = std::chrono::seconds(5);
constexpr std::size_t kLingerRead = 64 * 1024;

std::string_view sv(beast::string_view s) {
  return {s.data(), s.size()};
}

bool iequals(std::string_view a, std::string_view b) {
  return beast::iequals(beast::string_view(a.data(), a.size()),
                        beast::string_view(b.data(), b.size()));
}

void append_number(std::string& out, std::uint64_t n) {
  char digits[24];
  char* end = digits + sizeof digits;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.append(p, end);
}

// The status line, Content-Type and the reply's own headers, each line
// ended but the last.
void append_head(std::string& out, const Reply& r) {
  out += "HTTP/1.1 ";
  append_number(out, static_cast<std::uint64_t>(r.status));
  out += ' ';
  out += sv(bhttp::obsolete_reason(static_cast<bhttp::status>(r.status)));
  out += "\r\nContent-Type: ";
  out += r.content_type;
  for (const auto& [name, value] : r.headers) {
    out += "\r\n";
    out += name;
    out += ": ";
    out += value;
  }
}

// Status line, headers and body in one buffer: one write per response.
void serialize(std::string& out, const Reply& r, bool keep_alive) {
  out.clear();
  out.reserve(160 + r.body.size());
  append_head(out, r);
  out += "\r\nContent-Length: ";
  append_number(out, r.body.size());
  if (!keep_alive) out += "\r\nConnection: close";
  out += "\r\n\r\n";
  out += r.body;
}

// A stream's head: no Content-Length, the body chunked; the connection
// closes when the stream ends.
void serialize_stream_head(std::string& out, const Reply& r) {
  out.clear();
  append_head(out, r);
  out += "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
}

void append_chunk(std::string& out, std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  char digits[16];
  char* end = digits + sizeof digits;
  char* p = end;
  for (std::size_t n = data.size(); n != 0; n >>= 4) *--p = kHex[n & 0xf];
  out.append(p, end);
  out += "\r\n";
  out += data;
  out += "\r\n";
}

// What the client may still send while a stream is written: nothing is
// expected, this only notices when it leaves.
constexpr std::size_t kStreamWatchRead = 512;

}  // namespace

// A connection's bytes: the TCP socket itself, or TLS over it. Beast's
// reads and Asio's writes take either as one AsyncStream, so the session's
// code is the same for both.
class Transport {
 public:
  using executor_type = tcp::socket::executor_type;

  // `tls` null: plain HTTP. Not movable: the TLS stream refers to socket_.
  Transport(tcp::socket socket, asio::ssl::context* tls) : socket_(std::move(socket)) {
    if (tls != nullptr) tls_.emplace(socket_, *tls);
  }
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  bool secure() const { return tls_.has_value(); }
  tcp::socket& socket() { return socket_; }

  template <class Buffers, class Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      socket_.async_read_some(buffers, std::forward<Handler>(handler));
    }
  }
  template <class Buffers, class Handler>
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    } else {
      socket_.async_write_some(buffers, std::forward<Handler>(handler));
    }
  }
  // Only when secure().
  template <class Handler>
  void async_handshake(Handler&& handler) {
    tls_->async_handshake(asio::ssl::stream_base::server, std::forward<Handler>(handler));
  }
  // Only when secure(): sends close_notify and waits for the peer's.
  template <class Handler>
  void async_shutdown(Handler&& handler) {
    tls_->async_shutdown(std::forward<Handler>(handler));
  }

 private:
  tcp::socket socket_;
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;
};

class Session;
class ExchangeImpl;
struct Loop;

// The Stream a handler holds: pieces queue here (already chunk-framed) under
// a mutex, from any thread, and the session takes them on its loop's thread.
class StreamImpl final : public Stream {
 public:
  StreamImpl(Loop& loop, std::weak_ptr<Session> session, std::size_t max_buffered)
      : loop_(loop), session_(std::move(session)), max_buffered_(max_buffered) {}

  bool send(std::string_view data) override {
    std::lock_guard lock(mutex_);
    if (ended_) return false;
    if (data.empty()) return true;
    if (pending_.size() + in_flight_ + data.size() > max_buffered_) {
      // Too far behind: drop whole pieces and end at a boundary.
      ended_ = true;
      pending_.clear();
      wake();
      return false;
    }
    append_chunk(pending_, data);
    wake();
    return true;
  }

  void close() override {
    std::lock_guard lock(mutex_);
    if (ended_) return;
    ended_ = true;
    wake();
  }

  bool open() const override {
    std::lock_guard lock(mutex_);
    return !ended_;
  }

  // Loop thread: what to write next; `last` once the stream has ended (this
  // is then all there is).
  std::string take(bool& last) {
    std::lock_guard lock(mutex_);
    posted_ = false;
    std::string out;
    out.swap(pending_);
    in_flight_ = out.size();
    last = ended_;
    return out;
  }
  void wrote() {
    std::lock_guard lock(mutex_);
    in_flight_ = 0;
  }
  // Loop thread: the connection is gone.
  void gone() {
    std::lock_guard lock(mutex_);
    ended_ = true;
    pending_.clear();
  }

 private:
  void wake();  // under mutex_: one pull posted to the loop at a time

  Loop& loop_;
  std::weak_ptr<Session> session_;
  const std::size_t max_buffered_;
  mutable std::mutex mutex_;
  std::string pending_;
  std::size_t in_flight_ = 0;
  bool ended_ = false;
  bool posted_ = false;
};

// One event-loop thread and what lives on it. Everything here but the
// context itself is only touched from the loop's thread.
struct Loop {
  // Behind a pointer so ~Server can destroy it before the rest (see there).
  std::unique_ptr<asio::io_context> context = std::make_unique<asio::io_context>(1);
  std::optional<asio::steady_timer> sweep;
  std::list<Session*> sessions;
  // Deferred replies in the order they were deferred. Their deadlines are
  // start + a fixed timeout, so this is also (nearly) deadline order.
  std::deque<std::shared_ptr<ExchangeImpl>> deferred;
  Clock::time_point now = Clock::now();  // as of the last sweep
};

struct Server::Impl {
  Impl(ServerOptions o, Handler& h) : options(std::move(o)), handler(h) {}

  ServerOptions options;
  Handler& handler;
  std::vector<std::unique_ptr<Loop>> loops;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  // Set when serving TLS; every new connection's stream is made from it.
  // reload_tls() swaps it: connections keep the context they started with.
  std::shared_ptr<asio::ssl::context> tls;
  mutable std::mutex tls_mutex;

  std::shared_ptr<asio::ssl::context> current_tls() const {
    std::lock_guard lock(tls_mutex);
    return tls;
  }
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> accept_retry;
  std::size_t next_loop = 0;  // only touched by the accepting thread
  int port = 0;
  // Connections being served, those refused for the cap not counted.
  std::atomic<std::size_t> serving{0};

  std::atomic<bool> stopping{false};
  std::mutex state_mutex;
  bool started = false;
  bool stopped = false;
  std::function<void(std::string)> on_failure;

  // Live connections, for stop() to wait on.
  std::mutex sessions_mutex;
  std::condition_variable sessions_cv;
  std::size_t session_count = 0;

  void accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void sweep(Loop& loop);
};

// One connection: reads a request, hands it to the handler, writes the
// reply, and reads the next (keep-alive) until either side closes.
class Session final : public std::enable_shared_from_this<Session>, private Request {
 public:
  // `over_capacity`: the server has options.max_connections already; this
  // one only gets a 503 (refuse_busy()) and is not counted as served.
  Session(Server::Impl& server, Loop& loop, tcp::socket socket, bool over_capacity)
      : server_(server),
        loop_(loop),
        tls_context_(server.current_tls()),
        transport_(std::move(socket), tls_context_.get()),
        over_capacity_(over_capacity) {
    if (!over_capacity_) ++server_.serving;
    // Beast reads at most max(512, free capacity) bytes per call: from an
    // empty buffer a single-event request (about 600 bytes) took two
    // recvfrom calls. With room for a typical request it takes one.
    buffer_.reserve(kReadReserve);
    std::lock_guard lock(server_.sessions_mutex);
    ++server_.session_count;
  }

  ~Session() override {
    if (!over_capacity_) --server_.serving;
    if (listed_) loop_.sessions.erase(position_);
    std::lock_guard lock(server_.sessions_mutex);
    --server_.session_count;
    server_.sessions_cv.notify_all();
  }

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Loop& loop() { return loop_; }

  void start() {
    position_ = loop_.sessions.insert(loop_.sessions.end(), this);
    listed_ = true;
    if (!transport_.secure()) return begin();
    // The handshake has the idle timeout, as a request's headers do: a
    // client that connects and says nothing holds nothing for longer.
    deadline_ = loop_.now + server_.options.idle_timeout;
    transport_.async_handshake([self = shared_from_this()](beast::error_code ec) {
      if (ec) {
        self->server_.handler.tls_failed(ec.message());
        return self->close();
      }
      self->begin();
    });
  }

  void begin() {
    if (over_capacity_) return refuse_busy();
    read_header();
  }

  // From the loop's sweep: closes the connection if it has been idle or a
  // transfer has stalled past its deadline, or if the server is stopping
  // and no request is being served (a request being served finishes; its
  // reply says Connection: close).
  void sweep(Clock::time_point now, bool stopping) {
    if (stream_) {
      if (stopping) stream_->close();      // the last chunk goes, then the connection
      if (now >= deadline_) end_stream();  // a write the client does not take
      return;
    }
    if (now >= deadline_ || (stopping && !busy_)) close();
  }

  void begin_stream(Reply head, std::shared_ptr<StreamImpl> stream) {
    stream_ = std::move(stream);
    status_ = head.status;
    serialize_stream_head(out_, head);
    if (!head.body.empty()) append_chunk(out_, head.body);
    write_stream();
    buffer_.clear();
    watch();
  }

  // Writes what the stream has queued, or its end.
  void stream_pull() {
    if (!stream_ || stream_writing_ || stream_last_ || stream_ended_) return;
    bool last = false;
    std::string next = stream_->take(last);
    if (next.empty() && !last) return;
    out_ = std::move(next);
    if (last) {
      out_ += "0\r\n\r\n";
      stream_last_ = true;
    }
    write_stream();
  }

  void write(Reply reply) {
    const bool keep = parsed_ && parser_->keep_alive() && !reply.close && !server_.stopping.load();
    serialize(out_, reply, keep);
    keep_alive_ = keep;
    status_ = reply.status;
    deadline_ = loop_.now + server_.options.transfer_timeout;
    asio::async_write(
        transport_, asio::buffer(out_),
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

 private:
  // Request
  std::string_view method() const override { return fields_.method; }
  std::string_view path() const override {
    const std::string_view t = target();
    return t.substr(0, t.find('?'));
  }
  std::string_view query() const override {
    const std::string_view t = target();
    const auto q = t.find('?');
    return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
  }
  std::optional<std::string_view> header(std::string_view name) const override {
    const auto pick = [](bool has, const std::string& value) {
      return has ? std::optional<std::string_view>(value) : std::nullopt;
    };
    if (iequals(name, "Content-Type")) {
      return pick(fields_.has_content_type, fields_.content_type);
    }
    if (iequals(name, "Authorization")) {
      return pick(fields_.has_authorization, fields_.authorization);
    }
    if (iequals(name, "X-Event-Type")) {
      return pick(fields_.has_event_type, fields_.event_type);
    }
    if (iequals(name, "Accept")) return pick(fields_.has_accept, fields_.accept);
    if (iequals(name, "Cookie")) return pick(fields_.has_cookie, fields_.cookie);
    if (iequals(name, "Last-Event-ID")) {
      return pick(fields_.has_last_event_id, fields_.last_event_id);
    }
    // Only the headers Fields keeps can be asked for: a handler asking for
    // another is a bug, not a missing header.
    throw std::logic_error("header not kept by the HTTP server: " + std::string(name));
  }
  std::string_view body() const override { return fields_.body; }

  std::string_view target() const { return parsed_ ? std::string_view(fields_.target) : ""; }

  void read_header() {
    busy_ = false;
    parsed_ = false;
    refusal_.reset();
    if (server_.stopping.load()) return close();
    parser_.emplace(fields_, server_.options.max_body_bytes);
    deadline_ = loop_.now + server_.options.idle_timeout;
    bhttp::async_read_header(
        transport_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    busy_ = true;
    parsed_ = true;
    started_ = Clock::now();
    deadline_ = loop_.now + server_.options.transfer_timeout;
    refusal_ = server_.handler.screen(*this);
    if (refusal_) {
      // Refused before its body (unauthenticated): the body is read off the
      // connection, so it stays usable, but never stored.
      parser_->discard_body();
    } else if (const auto length = parser_->content_length()) {
      // Within the body limit: the parser checked it against the header.
      fields_.body.reserve(static_cast<std::size_t>(*length));
    }
    const bool expects_continue = iequals(fields_.expect, "100-continue");
    if (refusal_ && expects_continue) {
      // The client holds the body back until we say so: refuse without it.
      refusal_->close = true;
      return write(std::move(*refusal_));
    }
    if (parser_->is_done()) return on_body({});
    if (expects_continue) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return asio::async_write(transport_, asio::buffer(kContinue.data(), kContinue.size()),
                               [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                 if (ec) return self->close();
                                 self->read_body();
                               });
    }
    read_body();
  }

  void read_body() {
    // Beast reads at most the buffer's free capacity per call, so a 40 KB
    // NDJSON body took ten recvfrom calls into 4 KiB. Room for the body, up
    // to the 64 KiB Beast reads at most anyway, makes it one or two.
    if (const auto length = parser_->content_length()) {
      buffer_.reserve(std::min<std::uint64_t>(buffer_.size() + *length, kBodyReadReserve));
    }
    bhttp::async_read(
        transport_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    if (refusal_) return write(std::move(*refusal_));
    // A deferred reply has its own deadline (Exchange::defer).
    deadline_ = Clock::time_point::max();
    dispatch();
  }

  void on_read_error(beast::error_code ec) {
    const auto refuse = [&](int status, std::string_view error, const std::string& detail) {
      if (!busy_) started_ = Clock::now();
      busy_ = true;
      write(error_reply(status, error, detail));
    };
    if (ec == bhttp::error::body_limit) {
      // The rest of the body is not read: the connection closes after this.
      return refuse(413, "body_too_large",
                    "the body is larger than MILLRACE_MAX_BODY_BYTES (" +
                        std::to_string(server_.options.max_body_bytes) + " bytes)");
    }
    if (ec == bhttp::error::header_limit) {
      return refuse(431, "headers_too_large", "the request headers are too large");
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      parsed_ = false;
      return refuse(400, "bad_request", "the request could not be parsed");
    }
    close();  // the client left or went quiet, or we are stopping
  }

  void dispatch();

  void write_stream() {
    stream_writing_ = true;
    deadline_ = loop_.now + server_.options.transfer_timeout;
    asio::async_write(transport_, asio::buffer(out_),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->stream_writing_ = false;
                        self->deadline_ = Clock::time_point::max();
                        self->stream_->wrote();
                        if (ec || self->stream_last_) return self->end_stream();
                        self->stream_pull();
                      });
  }

  void watch() {
    transport_.async_read_some(buffer_.prepare(kStreamWatchRead),
                               [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                 if (ec) return self->end_stream();
                                 self->watch();
                               });
  }

  void end_stream() {
    if (stream_ended_) return;
    stream_ended_ = true;
    stream_->gone();
    server_.handler.answered(path(), status_, Clock::now() - started_);
    close();
  }

  Reply error_reply(int status, std::string_view error, std::string_view detail) {
    Reply r = server_.handler.refusal(status, error, detail);
    r.status = status;
    r.close = true;
    return r;
  }

  // Over the connection cap: a 503 without reading a request, then the
  // connection closes (after lingering, so the client reads the 503).
  void refuse_busy() {
    started_ = Clock::now();
    busy_ = true;
    Reply reply = error_reply(503, "too_many_connections",
                              "the server has its maximum of " +
                                  std::to_string(server_.options.max_connections) +
                                  " connections open; retry shortly");
    reply.headers.emplace_back("Retry-After", "1");
    write(std::move(reply));
  }

  void on_write(beast::error_code ec) {
    // A refused connection is no request: the server counted it apart.
    if (!over_capacity_) server_.handler.answered(path(), status_, Clock::now() - started_);
    if (ec) return close();
    if (keep_alive_) return read_header();
    if (parser_ && parser_->is_done()) return close_gracefully();
    linger();
  }

  // The reply is out, the request's rest is not read: see kLingerTimeout.
  // Not busy, so a stopping server closes it at its next sweep.
  // Under TLS there is no half-close (a TCP FIN under TLS reads as a
  // truncation): the reply's Content-Length tells the client it is whole,
  // and the client closes.
  void linger() {
    if (!transport_.secure()) {
      beast::error_code ec;
      transport_.socket().shutdown(tcp::socket::shutdown_send, ec);
      if (ec) return close();
    }
    busy_ = false;
    deadline_ = loop_.now + kLingerTimeout;
    buffer_.clear();
    discard();
  }

  void discard() {
    transport_.async_read_some(buffer_.prepare(kLingerRead),
                               [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                 if (ec) return self->close();  // EOF: the client is done
                                 self->discard();
                               });
  }

  void close() {
    beast::error_code ignored;
    transport_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    transport_.socket().close(ignored);
  }

  // The exchange is over, nothing is left to read, and the connection
  // closes: under TLS after close_notify (bounded by kLingerTimeout), so the
  // client tells the end from a truncation.
  void close_gracefully() {
    if (!transport_.secure()) return close();
    busy_ = false;
    deadline_ = loop_.now + kLingerTimeout;
    transport_.async_shutdown([self = shared_from_this()](beast::error_code) { self->close(); });
  }

  Server::Impl& server_;
  Loop& loop_;
  std::shared_ptr<asio::ssl::context> tls_context_;  // null: plain HTTP
  Transport transport_;
  beast::flat_buffer buffer_;
  detail::Fields fields_;
  std::optional<detail::RequestParser> parser_;
  std::string out_;
  std::optional<Reply> refusal_;
  std::list<Session*>::iterator position_;
  bool listed_ = false;
  Clock::time_point started_{};
  Clock::time_point deadline_ = Clock::time_point::max();
  int status_ = 0;
  bool keep_alive_ = false;
  bool busy_ = false;    // between a request's headers and its reply written
  bool parsed_ = false;  // fields_ hold a request's headers
  // A streamed response (Exchange::stream): the connection is its until it ends.
  std::shared_ptr<StreamImpl> stream_;
  bool stream_writing_ = false;
  bool stream_last_ = false;   // the last chunk is being written
  bool stream_ended_ = false;  // written or failed; the connection is closing
  const bool over_capacity_;
};

void StreamImpl::wake() {
  if (posted_) return;
  posted_ = true;
  asio::post(*loop_.context, [session = session_] {
    if (const auto s = session.lock()) s->stream_pull();
  });
}

class ExchangeImpl final : public Exchange, public std::enable_shared_from_this<ExchangeImpl> {
 public:
  explicit ExchangeImpl(std::shared_ptr<Session> session)
      : loop_(session->loop()), session_(std::move(session)) {}

  void reply(Reply reply) override {
    if (done_) return;
    done_ = true;
    std::move(session_)->write(std::move(reply));
  }

  void defer(Clock::duration timeout, std::function<Reply()> make) override {
    make_ = std::move(make);
    deadline_ = Clock::now() + timeout;
    loop_.deferred.push_back(shared_from_this());
  }

  void finish() override {
    asio::post(*loop_.context, [self = shared_from_this()] { self->run(); });
  }

  std::shared_ptr<Stream> stream(Reply head, std::size_t max_buffered) override {
    if (done_ || make_) throw std::logic_error("Exchange::stream after the request was answered");
    done_ = true;
    auto s = std::make_shared<StreamImpl>(loop_, session_, max_buffered);
    std::move(session_)->begin_stream(std::move(head), s);
    return s;
  }

  Loop& loop() const { return loop_; }
  bool answered() const { return done_ || make_ != nullptr; }
  bool done() const { return done_; }
  Clock::time_point deadline() const { return deadline_; }

  void run() {
    if (done_ || !make_) return;
    done_ = true;
    Reply r = make_();
    make_ = nullptr;
    // Once answered, the exchange holds nothing of the connection's, so a
    // late holder (a delivery report after the deadline) pins no socket.
    std::move(session_)->write(std::move(r));
  }

 private:
  Loop& loop_;
  std::shared_ptr<Session> session_;
  std::function<Reply()> make_;
  Clock::time_point deadline_ = Clock::time_point::max();
  bool done_ = false;  // only touched on the loop's thread
};

void Exchange::finish_all(std::vector<std::shared_ptr<Exchange>>& exchanges) {
  // Few loops: a linear scan groups them.
  std::vector<std::pair<Loop*, std::vector<std::shared_ptr<ExchangeImpl>>>> by_loop;
  for (auto& e : exchanges) {
    auto impl = std::static_pointer_cast<ExchangeImpl>(std::move(e));
    Loop* loop = &impl->loop();
    auto it = std::find_if(by_loop.begin(), by_loop.end(),
                           [loop](const auto& entry) { return entry.first == loop; });
    if (it == by_loop.end()) it = by_loop.insert(by_loop.end(), {loop, {}});
    it->second.push_back(std::move(impl));
  }
  exchanges.clear();
  for (auto& [loop, group] : by_loop) {
    asio::post(*loop->context, [group = std::move(group)] {
      for (const auto& e : group) e->run();
    });
  }
}

void Session::dispatch() {
  auto exchange = std::make_shared<ExchangeImpl>(shared_from_this());
  try {
    server_.handler.handle(*this, exchange);
  } catch (const std::exception& e) {
    // A bug or memory exhaustion in one request: that request gets a 500
    // and the log says why; the connection closes.
    runtime::log_error(kComponent, std::string("request failed: ") + e.what());
    if (!exchange->answered()) {
      exchange->reply(error_reply(500, "internal_error", "see the service's log"));
    }
  }
}

void Server::Impl::sweep(Loop& loop) {
  loop.now = Clock::now();
  while (!loop.deferred.empty()) {
    auto& front = loop.deferred.front();
    if (!front->done() && front->deadline() > loop.now) break;
    if (!front->done()) front->run();
    loop.deferred.pop_front();
  }
  const bool is_stopping = stopping.load();
  // close() only cancels reads and writes: the sessions leave the list
  // later, from their own handlers, so iterating here is safe.
  for (Session* session : loop.sessions) session->sweep(loop.now, is_stopping);
  loop.sweep->expires_after(kSweepEvery);
  loop.sweep->async_wait([this, &loop](beast::error_code ec) {
    if (!ec) sweep(loop);
  });
}

void Server::Impl::accept() {
  Loop& target = *loops[next_loop];
  next_loop = (next_loop + 1) % loops.size();
  acceptor->async_accept(
      *target.context, [this, &target](beast::error_code ec, tcp::socket socket) {
        if (stopping.load() || ec == asio::error::operation_aborted) return;
        if (ec) {
          // Out of descriptors or memory for a moment: try again shortly rather
          // than spin or give up serving.
          runtime::log_warn(kComponent, "accept failed: " + ec.message());
          accept_retry->expires_after(kAcceptRetry);
          accept_retry->async_wait([this](beast::error_code e) {
            if (!e) accept();
          });
          return;
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        const bool over = options.max_connections > 0 && serving.load() >= options.max_connections;
        if (over) handler.connection_refused();
        auto session = std::make_shared<Session>(*this, target, std::move(socket), over);
        // The session lives on its loop's thread from its first step.
        asio::post(*target.context, [session] { session->start(); });
        accept();
      });
}

namespace {

std::shared_ptr<asio::ssl::context> make_tls_context(const ServerOptions& o) {
  if (o.tls_cert_file.empty() && o.tls_key_file.empty()) return nullptr;
  if (o.tls_cert_file.empty() || o.tls_key_file.empty()) {
    throw std::runtime_error("TLS needs both a certificate and its private key: only the " +
                             std::string(o.tls_cert_file.empty() ? "key" : "certificate") +
                             " file was given");
  }
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  beast::error_code ec;
  context->use_certificate_chain_file(o.tls_cert_file, ec);
  if (ec) {
    throw std::runtime_error("cannot use the TLS certificate " + o.tls_cert_file + ": " +
                             ec.message() + " (a PEM file, the server's certificate first)");
  }
  context->use_private_key_file(o.tls_key_file, asio::ssl::context::pem, ec);
  const auto mismatch = [&] {
    throw std::runtime_error("the TLS private key " + o.tls_key_file +
                             " is not the key of the certificate " + o.tls_cert_file);
  };
  if (ec && ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
    mismatch();
  }
  if (ec) {
    // The message names the file, never its content.
    throw std::runtime_error("cannot use the TLS private key " + o.tls_key_file + ": " +
                             ec.message() + " (an unencrypted PEM file)");
  }
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) mismatch();
  return context;
}

}  // namespace

Server::Server(ServerOptions options, Handler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {
  Impl& s = *impl_;
  s.tls = make_tls_context(s.options);
  const int threads = std::max(1, s.options.threads);
  for (int i = 0; i < threads; ++i) {
    auto loop = std::make_unique<Loop>();
    loop->sweep.emplace(*loop->context);
    s.loops.push_back(std::move(loop));
  }
  beast::error_code ec;
  const auto address = asio::ip::make_address(s.options.host, ec);
  const std::string where = s.options.host + ":" + std::to_string(s.options.port);
  if (ec) throw std::runtime_error("cannot listen on " + where + ": not an IP address");
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(s.options.port));
  s.acceptor.emplace(*s.loops[0]->context);
  s.accept_retry.emplace(*s.loops[0]->context);
  s.acceptor->open(endpoint.protocol(), ec);
  // SO_REUSEADDR allows a quick restart; not SO_REUSEPORT, which would let
  // two services share a port silently.
  if (!ec) s.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (!ec) s.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + where + " (" + ec.message() +
                             "; MILLRACE_HTTP_ADDR / --http-addr): is the port taken, or the "
                             "host not an address of this machine?");
  }
  s.port = s.acceptor->local_endpoint().port();
}

Server::~Server() {
  stop(milliseconds(0));
  // Handlers still pending hold sessions, which unlist themselves from their
  // loop and count down sessions_mutex's count: destroy the contexts first,
  // while the rest of Impl is alive. (A session pinned by an unanswered
  // Exchange would outlive its context: stop()'s grace must cover deferred
  // replies' deadlines, as ProducerService's does.)
  impl_->acceptor.reset();
  impl_->accept_retry.reset();
  for (auto& loop : impl_->loops) {
    loop->sweep.reset();
    loop->deferred.clear();
    loop->context.reset();
  }
}

int Server::port() const {
  return impl_->port;
}

bool Server::secure() const {
  return impl_->current_tls() != nullptr;
}

void Server::reload_tls() {
  Impl& s = *impl_;
  if (!secure()) throw std::logic_error("Server::reload_tls on a server without TLS");
  auto fresh = make_tls_context(s.options);
  std::lock_guard lock(s.tls_mutex);
  s.tls = std::move(fresh);
}

std::size_t Server::connections() const {
  return impl_->serving.load();
}

void Server::on_failure(std::function<void(std::string)> callback) {
  impl_->on_failure = std::move(callback);
}

void Server::start() {
  Impl& s = *impl_;
  std::lock_guard lock(s.state_mutex);
  if (s.started) return;
  s.started = true;
  for (auto& loop : s.loops) s.guards.push_back(asio::make_work_guard(*loop->context));
  asio::post(*s.loops[0]->context, [&s] { s.accept(); });
  for (auto& loop : s.loops) {
    Loop& l = *loop;
    asio::post(*l.context, [&s, &l] { s.sweep(l); });
    s.threads.emplace_back([&s, &l] {
      try {
        l.context->run();
      } catch (const std::exception& e) {
        // Handlers do not throw (dispatch catches); this is a bug, and the
        // service must not go on half-served.
        if (s.on_failure) s.on_failure(std::string("HTTP server thread failed: ") + e.what());
      }
    });
  }
}

void Server::stop(Clock::duration grace) {
  Impl& s = *impl_;
  std::lock_guard lock(s.state_mutex);
  if (s.stopped) return;
  s.stopped = true;
  s.stopping = true;
  if (s.started) {
    // The next sweep of each loop closes its idle connections.
    asio::post(*s.loops[0]->context, [&s] {
      beast::error_code ignored;
      s.acceptor->close(ignored);
      s.accept_retry->cancel();
    });
    std::unique_lock sessions_lock(s.sessions_mutex);
    s.sessions_cv.wait_for(sessions_lock, grace, [&s] { return s.session_count == 0; });
    const std::size_t left = s.session_count;
    sessions_lock.unlock();
    if (left > 0) {
      runtime::log_warn(kComponent, std::to_string(left) +
                                        " connection(s) still busy at the end of the grace "
                                        "period; closing them");
    }
  }
  s.guards.clear();
  for (auto& loop : s.loops) loop->context->stop();
  for (auto& thread : s.threads) thread.join();
  s.threads.clear();
}

}  // namespace millrace::httpd
