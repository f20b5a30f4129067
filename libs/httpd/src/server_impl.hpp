#pragma once

// The server's shared state (Server::Impl): options, loops, listener, TLS context, counts.

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "event_loop.hpp"
#include "millrace/httpd/server.hpp"

namespace millrace::httpd {

namespace detail {
// The component of the server's log lines.
inline constexpr std::string_view kComponent = "http";
}  // namespace detail

struct Server::Impl {
  Impl(ServerOptions o, Handler& h) : options(std::move(o)), handler(h) {}

  ServerOptions options;
  Handler& handler;
  std::vector<std::unique_ptr<Loop>> loops;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  // Set when serving TLS; every new connection's stream is made from it.
  // reload_tls() swaps it: connections keep the context they started with.
  std::shared_ptr<asio::ssl::context> tls;
  mutable std::mutex tls_mutex;

  std::shared_ptr<asio::ssl::context> current_tls() const {
    std::lock_guard lock(tls_mutex);
    return tls;
  }
  std::optional<asio::ip::tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> accept_retry;
  std::size_t next_loop = 0;  // only touched by the accepting thread
  int port = 0;
  // Connections being served, those refused for the cap not counted.
  std::atomic<std::size_t> serving{0};

  std::atomic<bool> stopping{false};
  std::mutex state_mutex;
  bool started = false;
  bool stopped = false;
  std::function<void(std::string)> on_failure;

  // Live connections, for stop() to wait on.
  std::mutex sessions_mutex;
  std::condition_variable sessions_cv;
  std::size_t session_count = 0;

  // listener.cpp: binds options.host:port on the first loop (sets port),
  // then accepts connections onto the loops in turn.
  void listen();
  void accept();
  // sweep.cpp: each loop's periodic look at deadlines.
  void sweep(Loop& loop);
};

}  // namespace millrace::httpd
