// The Server's lifecycle: building its loops and listener, starting its threads, stopping them.
#include "millrace/httpd/server.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>

#include "millrace/runtime/log.hpp"
#include "server_impl.hpp"
#include "tls_context.hpp"

namespace millrace::httpd {

Server::Server(ServerOptions options, Handler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {
  Impl& s = *impl_;
  s.tls = detail::make_tls_context(s.options);
  const int threads = std::max(1, s.options.threads);
  for (int i = 0; i < threads; ++i) {
    auto loop = std::make_unique<Loop>();
    loop->sweep.emplace(*loop->context);
    s.loops.push_back(std::move(loop));
  }
  s.listen();
}

Server::~Server() {
  stop(std::chrono::milliseconds(0));
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
  auto fresh = detail::make_tls_context(s.options);
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
      boost::beast::error_code ignored;
      s.acceptor->close(ignored);
      s.accept_retry->cancel();
    });
    std::unique_lock sessions_lock(s.sessions_mutex);
    s.sessions_cv.wait_for(sessions_lock, grace, [&s] { return s.session_count == 0; });
    const std::size_t left = s.session_count;
    sessions_lock.unlock();
    if (left > 0) {
      runtime::log_warn(detail::kComponent, std::to_string(left) +
                                                " connection(s) still busy at the end of the "
                                                "grace period; closing them");
    }
  }
  s.guards.clear();
  for (auto& loop : s.loops) loop->context->stop();
  for (auto& thread : s.threads) thread.join();
  s.threads.clear();
}

}  // namespace millrace::httpd
