#pragma once

// One event-loop thread and what lives on it: its connections and deferred replies.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <list>
#include <memory>
#include <optional>

namespace millrace::httpd {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

class Session;
class ExchangeImpl;

// Everything here but the context itself is only touched from the loop's
// thread.
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

}  // namespace millrace::httpd
