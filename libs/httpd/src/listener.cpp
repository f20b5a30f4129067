// The listening socket: binding it, and accepting connections onto the loops in turn.
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "millrace/runtime/log.hpp"
#include "server_impl.hpp"
#include "session.hpp"

namespace millrace::httpd {

namespace {

constexpr std::chrono::milliseconds kAcceptRetry{50};

}  // namespace

void Server::Impl::listen() {
  beast::error_code ec;
  const auto address = asio::ip::make_address(options.host, ec);
  const std::string where = options.host + ":" + std::to_string(options.port);
  if (ec) throw std::runtime_error("cannot listen on " + where + ": not an IP address");
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(options.port));
  acceptor.emplace(*loops[0]->context);
  accept_retry.emplace(*loops[0]->context);
  acceptor->open(endpoint.protocol(), ec);
  // SO_REUSEADDR allows a quick restart; not SO_REUSEPORT, which would let
  // two services share a port silently.
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + where + " (" + ec.message() +
                             "; MILLRACE_HTTP_ADDR / --http-addr): is the port taken, or the "
                             "host not an address of this machine?");
  }
  port = acceptor->local_endpoint().port();
}

void Server::Impl::accept() {
  Loop& target = *loops[next_loop];
  next_loop = (next_loop + 1) % loops.size();
  acceptor->async_accept(
      *target.context, [this, &target](beast::error_code ec, tcp::socket socket) {
        if (stopping.load() || ec == asio::error::operation_aborted) return;
        if (ec) {
          // Out of descriptors or memory for a moment: try again shortly rather
          // than spin or give up serving.
          runtime::log_warn(detail::kComponent, "accept failed: " + ec.message());
          accept_retry->expires_after(kAcceptRetry);
          accept_retry->async_wait([this](beast::error_code e) {
            if (!e) accept();
          });
          return;
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        const bool over = options.max_connections > 0 && serving.load() >= options.max_connections;
        if (over) handler.connection_refused();
        auto session = std::make_shared<Session>(*this, target, std::move(socket), over);
        // The session lives on its loop's thread from its first step.
        asio::post(*target.context, [session] { session->start(); });
        accept();
      });
}

}  // namespace millrace::httpd
