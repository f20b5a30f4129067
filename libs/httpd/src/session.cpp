// A connection's life: opening it (TLS handshake), its deadlines, and the ways it closes.
#include "session.hpp"

#include <chrono>
#include <mutex>

#include "response_stream.hpp"
#include "server_impl.hpp"

namespace millrace::httpd {

namespace {

// After refusing a request whose body was not read (413, a parse error, a
// refused 100-continue), the connection half-closes and discards what the
// client still sends for up to this long before closing. Closing at once
// with unread input makes the kernel answer the client's next bytes with a
// reset: a client still writing its body gets EPIPE or ECONNRESET and never
// reads the 413 (nginx's lingering close, for the same reason).
constexpr Clock::duration kLingerTimeout = std::chrono::seconds(5);
constexpr std::size_t kLingerRead = 64 * 1024;

}  // namespace

Session::Session(Server::Impl& server, Loop& loop, tcp::socket socket, bool over_capacity)
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

Session::~Session() {
  if (!over_capacity_) --server_.serving;
  if (listed_) loop_.sessions.erase(position_);
  std::lock_guard lock(server_.sessions_mutex);
  --server_.session_count;
  server_.sessions_cv.notify_all();
}

void Session::start() {
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

void Session::begin() {
  if (over_capacity_) return refuse_busy();
  read_header();
}

void Session::sweep(Clock::time_point now, bool stopping) {
  if (stream_) {
    if (stopping) stream_->close();      // the last chunk goes, then the connection
    if (now >= deadline_) end_stream();  // a write the client does not take
    return;
  }
  if (now >= deadline_ || (stopping && !busy_)) close();
}

// The reply is out, the request's rest is not read: see kLingerTimeout.
// Not busy, so a stopping server closes it at its next sweep.
// Under TLS there is no half-close (a TCP FIN under TLS reads as a
// truncation): the reply's Content-Length tells the client it is whole,
// and the client closes.
void Session::linger() {
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

void Session::discard() {
  transport_.async_read_some(buffer_.prepare(kLingerRead),
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec) return self->close();  // EOF: the client is done
                               self->discard();
                             });
}

void Session::close() {
  beast::error_code ignored;
  transport_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  transport_.socket().close(ignored);
}

// The exchange is over, nothing is left to read, and the connection
// closes: under TLS after close_notify (bounded by kLingerTimeout), so the
// client tells the end from a truncation.
void Session::close_gracefully() {
  if (!transport_.secure()) return close();
  busy_ = false;
  deadline_ = loop_.now + kLingerTimeout;
  transport_.async_shutdown([self = shared_from_this()](beast::error_code) { self->close(); });
}

}  // namespace millrace::httpd
