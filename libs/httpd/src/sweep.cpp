// Each event loop's periodic sweep: overdue deferred replies, idle or stalled connections.
#include <chrono>

#include "exchange.hpp"
#include "server_impl.hpp"
#include "session.hpp"

namespace millrace::httpd {

namespace {

// How often each loop looks for idle connections and overdue replies. Per
// connection timers would cost a timer-queue update (and often a
// timerfd_settime) on every read and write; one sweep per loop costs
// nothing per request, and deadlines are only this much late.
constexpr std::chrono::milliseconds kSweepEvery{100};

}  // namespace

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
  loop.sweep->async_wait([this, &loop](boost::beast::error_code ec) {
    if (!ec) sweep(loop);
  });
}

}  // namespace millrace::httpd
