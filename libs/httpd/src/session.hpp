#pragma once

// One connection: reads a request, hands it to the handler, writes the reply, repeats.
//
// It reads the next request (keep-alive) until either side closes. Its
// parts: session.cpp opens the connection (TLS handshake), watches its
// deadlines and closes it; session_read.cpp reads and screens a request;
// session_reply.cpp hands it to the handler and writes the reply;
// session_stream.cpp writes a streamed response (Exchange::stream).

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <cstddef>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "event_loop.hpp"
#include "millrace/httpd/server.hpp"
#include "parsed_request.hpp"
#include "request_parser.hpp"
#include "transport.hpp"

namespace millrace::httpd {

namespace beast = boost::beast;

class StreamImpl;

class Session final : public std::enable_shared_from_this<Session> {
 public:
  // `over_capacity`: the server has options.max_connections already; this
  // one only gets a 503 (refuse_busy()) and is not counted as served.
  Session(Server::Impl& server, Loop& loop, tcp::socket socket, bool over_capacity);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Loop& loop() { return loop_; }

  // On the loop's thread, once: lists the session and begins (after the
  // TLS handshake, if any).
  void start();
  // From the loop's sweep: closes the connection if it has been idle or a
  // transfer has stalled past its deadline, or if the server is stopping
  // and no request is being served (a request being served finishes; its
  // reply says Connection: close).
  void sweep(Clock::time_point now, bool stopping);
  // The request's answer (ExchangeImpl): a whole reply, or a stream's head.
  void write(Reply reply);
  void begin_stream(Reply head, std::shared_ptr<StreamImpl> stream);
  // Writes what the stream has queued, or its end.
  void stream_pull();

 private:
  // session.cpp: the connection's life.
  void begin();
  void linger();
  void discard();
  void close();
  void close_gracefully();

  // session_read.cpp: a request, its headers then its body.
  void read_header();
  void on_header(beast::error_code ec);
  void read_body();
  void on_body(beast::error_code ec);
  void on_read_error(beast::error_code ec);

  // session_reply.cpp: the answer.
  void dispatch();
  void on_write(beast::error_code ec);
  Reply error_reply(int status, std::string_view error, std::string_view detail);
  void refuse_busy();

  // session_stream.cpp: a streamed response.
  void write_stream();
  void watch();
  void end_stream();

  // Initial read buffer per connection; read_body() makes room for a larger body.
  static constexpr std::size_t kReadReserve = 4096;
  static constexpr std::size_t kBodyReadReserve = 64 * 1024;

  Server::Impl& server_;
  Loop& loop_;
  std::shared_ptr<asio::ssl::context> tls_context_;  // null: plain HTTP
  Transport transport_;
  beast::flat_buffer buffer_;
  ParsedRequest request_;
  std::optional<detail::RequestParser> parser_;
  std::string out_;
  std::optional<Reply> refusal_;
  std::list<Session*>::iterator position_;
  bool listed_ = false;
  Clock::time_point started_{};
  Clock::time_point deadline_ = Clock::time_point::max();
  int status_ = 0;
  bool keep_alive_ = false;
  bool busy_ = false;  // between a request's headers and its reply written
  // A streamed response (Exchange::stream): the connection is its until it ends.
  std::shared_ptr<StreamImpl> stream_;
  bool stream_writing_ = false;
  bool stream_last_ = false;   // the last chunk is being written
  bool stream_ended_ = false;  // written or failed; the connection is closing
  const bool over_capacity_;
};

}  // namespace millrace::httpd
