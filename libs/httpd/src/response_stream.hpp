#pragma once

// The Stream a handler holds (Exchange::stream): chunks queued from any thread for the session.

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "millrace/httpd/server.hpp"

namespace millrace::httpd {

class Session;
struct Loop;

// Pieces queue here (already chunk-framed) under a mutex, from any thread,
// and the session takes them on its loop's thread (Session::stream_pull).
class StreamImpl final : public Stream {
 public:
  StreamImpl(Loop& loop, std::weak_ptr<Session> session, std::size_t max_buffered)
      : loop_(loop), session_(std::move(session)), max_buffered_(max_buffered) {}

  bool send(std::string_view data) override;
  void close() override;
  bool open() const override;

  // Loop thread: what to write next; `last` once the stream has ended (this
  // is then all there is).
  std::string take(bool& last);
  void wrote();
  // Loop thread: the connection is gone.
  void gone();

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

}  // namespace millrace::httpd
