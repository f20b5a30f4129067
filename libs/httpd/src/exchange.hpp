#pragma once

// The Exchange a handler answers through: a reply now, a deferred one, or a stream.

#include <cstddef>
#include <functional>
#include <memory>

#include "event_loop.hpp"
#include "millrace/httpd/server.hpp"

namespace millrace::httpd {

class Session;

class ExchangeImpl final : public Exchange, public std::enable_shared_from_this<ExchangeImpl> {
 public:
  explicit ExchangeImpl(std::shared_ptr<Session> session);

  void reply(Reply reply) override;
  void defer(Clock::duration timeout, std::function<Reply()> make) override;
  void finish() override;
  std::shared_ptr<Stream> stream(Reply head, std::size_t max_buffered) override;

  Loop& loop() const { return loop_; }
  bool answered() const { return done_ || make_ != nullptr; }
  bool done() const { return done_; }
  Clock::time_point deadline() const { return deadline_; }

  // On the loop's thread: makes and writes a deferred reply, unless done.
  void run();

 private:
  Loop& loop_;
  std::shared_ptr<Session> session_;
  std::function<Reply()> make_;
  Clock::time_point deadline_ = Clock::time_point::max();
  bool done_ = false;  // only touched on the loop's thread
};

}  // namespace millrace::httpd
