// Answering a request: the handler gets it, its reply is written, then the next request or the end.
#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <exception>
#include <string>

#include "exchange.hpp"
#include "millrace/runtime/log.hpp"
#include "server_impl.hpp"
#include "session.hpp"
#include "wire.hpp"

namespace millrace::httpd {

void Session::dispatch() {
  auto exchange = std::make_shared<ExchangeImpl>(shared_from_this());
  try {
    server_.handler.handle(request_, exchange);
  } catch (const std::exception& e) {
    // A bug or memory exhaustion in one request: that request gets a 500
    // and the log says why; the connection closes.
    runtime::log_error(detail::kComponent, std::string("request failed: ") + e.what());
    if (!exchange->answered()) {
      exchange->reply(error_reply(500, "internal_error", "see the service's log"));
    }
  }
}

void Session::write(Reply reply) {
  const bool keep =
      request_.parsed() && parser_->keep_alive() && !reply.close && !server_.stopping.load();
  detail::serialize(out_, reply, keep);
  keep_alive_ = keep;
  status_ = reply.status;
  deadline_ = loop_.now + server_.options.transfer_timeout;
  asio::async_write(
      transport_, asio::buffer(out_),
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
}

void Session::on_write(beast::error_code ec) {
  // A refused connection is no request: the server counted it apart.
  if (!over_capacity_) server_.handler.answered(request_.path(), status_, Clock::now() - started_);
  if (ec) return close();
  if (keep_alive_) return read_header();
  if (parser_ && parser_->is_done()) return close_gracefully();
  linger();
}

Reply Session::error_reply(int status, std::string_view error, std::string_view detail) {
  Reply r = server_.handler.refusal(status, error, detail);
  r.status = status;
  r.close = true;
  return r;
}

// Over the connection cap: a 503 without reading a request, then the
// connection closes (after lingering, so the client reads the 503).
void Session::refuse_busy() {
  started_ = Clock::now();
  busy_ = true;
  Reply reply = error_reply(503, "too_many_connections",
                            "the server has its maximum of " +
                                std::to_string(server_.options.max_connections) +
                                " connections open; retry shortly");
  reply.headers.emplace_back("Retry-After", "1");
  write(std::move(reply));
}

}  // namespace millrace::httpd
