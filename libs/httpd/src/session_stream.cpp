// Writing a streamed response (Exchange::stream): its head, its chunks as they come, its end.
#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <string>

#include "response_stream.hpp"
#include "server_impl.hpp"
#include "session.hpp"
#include "wire.hpp"

namespace millrace::httpd {

namespace {

// What the client may still send while a stream is written: nothing is
// expected, this only notices when it leaves.
constexpr std::size_t kStreamWatchRead = 512;

}  // namespace

void Session::begin_stream(Reply head, std::shared_ptr<StreamImpl> stream) {
  stream_ = std::move(stream);
  status_ = head.status;
  detail::serialize_stream_head(out_, head);
  if (!head.body.empty()) detail::append_chunk(out_, head.body);
  write_stream();
  buffer_.clear();
  watch();
}

void Session::stream_pull() {
  if (!stream_ || stream_writing_ || stream_last_ || stream_ended_) return;
  bool last = false;
  std::string next = stream_->take(last);
  if (next.empty() && !last) return;
  out_ = std::move(next);
  if (last) {
    detail::append_last_chunk(out_);
    stream_last_ = true;
  }
  write_stream();
}

void Session::write_stream() {
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

void Session::watch() {
  transport_.async_read_some(buffer_.prepare(kStreamWatchRead),
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec) return self->end_stream();
                               self->watch();
                             });
}

void Session::end_stream() {
  if (stream_ended_) return;
  stream_ended_ = true;
  stream_->gone();
  server_.handler.answered(request_.path(), status_, Clock::now() - started_);
  close();
}

}  // namespace millrace::httpd
