// Reading a request off a connection: its headers, the handler's screen, then its body.
#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <cstdint>
#include <string>

#include "server_impl.hpp"
#include "session.hpp"
#include "wire.hpp"

namespace millrace::httpd {

namespace bhttp = boost::beast::http;

void Session::read_header() {
  busy_ = false;
  request_.set_parsed(false);
  refusal_.reset();
  if (server_.stopping.load()) return close();
  parser_.emplace(request_.fields(), server_.options.max_body_bytes);
  deadline_ = loop_.now + server_.options.idle_timeout;
  bhttp::async_read_header(
      transport_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
}

void Session::on_header(beast::error_code ec) {
  if (ec) return on_read_error(ec);
  busy_ = true;
  request_.set_parsed(true);
  started_ = Clock::now();
  deadline_ = loop_.now + server_.options.transfer_timeout;
  refusal_ = server_.handler.screen(request_);
  if (refusal_) {
    // Refused before its body (unauthenticated): the body is read off the
    // connection, so it stays usable, but never stored.
    parser_->discard_body();
  } else if (const auto length = parser_->content_length()) {
    // Within the body limit: the parser checked it against the header.
    request_.fields().body.reserve(static_cast<std::size_t>(*length));
  }
  const bool expects_continue = request_.expects_continue();
  if (refusal_ && expects_continue) {
    // The client holds the body back until we say so: refuse without it.
    refusal_->close = true;
    return write(std::move(*refusal_));
  }
  if (parser_->is_done()) return on_body({});
  if (expects_continue) {
    return asio::async_write(transport_,
                             asio::buffer(detail::kContinue.data(), detail::kContinue.size()),
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec) return self->close();
                               self->read_body();
                             });
  }
  read_body();
}

void Session::read_body() {
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

void Session::on_body(beast::error_code ec) {
  if (ec) return on_read_error(ec);
  if (refusal_) return write(std::move(*refusal_));
  // A deferred reply has its own deadline (Exchange::defer).
  deadline_ = Clock::time_point::max();
  dispatch();
}

void Session::on_read_error(beast::error_code ec) {
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
    request_.set_parsed(false);
    return refuse(400, "bad_request", "the request could not be parsed");
  }
  close();  // the client left or went quiet, or we are stopping
}

}  // namespace millrace::httpd
