#include "millrace/httpd/websocket.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <optional>
#include <utility>

#include "millrace/core/failure.hpp"
#include "millrace/core/options.hpp"

namespace millrace::httpd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

using Plain = websocket::stream<beast::tcp_stream>;
using Secure = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

bool is_ip(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string seconds(std::chrono::milliseconds d) {
  const auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

}  // namespace

WebSocketUrl WebSocketUrl::parse(std::string_view url) {
  const auto fail = [](const std::string& what) -> WebSocketUrl {
    throw core::UsageError("websocket url: " + what);
  };
  WebSocketUrl u;
  std::string_view rest;
  if (url.starts_with("ws://")) {
    rest = url.substr(5);
  } else if (url.starts_with("wss://")) {
    u.tls = true;
    rest = url.substr(6);
  } else {
    return fail("must start with ws:// or wss://");
  }
  const auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (u.target.front() == '?') u.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) return fail("user information is not taken");
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("an IPv6 address without its ']'");
    u.host = std::string(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return fail("junk after the IPv6 address");
    if (!after.empty()) port = after.substr(1);
  } else {
    const auto colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return fail("has no host");
  if (port.empty()) {
    u.port = u.tls ? "443" : "80";
  } else {
    const bool digits = port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) {
                          return c >= '0' && c <= '9';
                        });
    if (!digits || std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535) {
      return fail("the port must be 1..65535");
    }
    u.port = std::string(port);
  }
  if (u.target.find_first_of(" \r\n") != std::string::npos) {
    return fail("the path may not hold spaces or line breaks");
  }
  return u;
}

std::string WebSocketUrl::redacted() const {
  const auto query = target.find('?');
  const std::string host_part = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return std::string(tls ? "wss://" : "ws://") + host_part + ":" + port +
         (query == std::string::npos ? target : target.substr(0, query) + "?...");
}

class WebSocketClient::Impl {
 public:
  explicit Impl(WebSocketOptions options)
      : options_(std::move(options)), url_(WebSocketUrl::parse(options_.url)) {
    if (!url_.tls) return;
    tls_.emplace(asio::ssl::context::tls_client);
    tls_->set_verify_mode(asio::ssl::verify_peer);
    error_code ec;
    if (options_.ca_file.empty()) {
      tls_->set_default_verify_paths(ec);
    } else {
      tls_->load_verify_file(options_.ca_file, ec);
    }
    if (ec) {
      throw core::UsageError(
          "websocket: cannot load the CA file " +
          (options_.ca_file.empty() ? std::string("(the system's)") : options_.ca_file) + ": " +
          ec.message());
    }
  }

  void connect() {
    drop();
    ended_.clear();
    timed_out_ = false;
    if (interrupted_) lost("interrupted");
    const std::string where = url_.redacted();
    // Resolve, bounded by the connect timeout like the rest.
    tcp::resolver resolver(ioc_);
    tcp::resolver::results_type endpoints;
    asio::steady_timer timer(ioc_);
    timer.expires_after(options_.connect_timeout);
    timer.async_wait([&](error_code ec) {
      if (!ec) resolver.cancel();
    });
    auto ec = run([&](auto done) {
      resolver.async_resolve(url_.host, url_.port,
                             [&, done](error_code e, tcp::resolver::results_type r) {
                               timer.cancel();
                               endpoints = std::move(r);
                               done(e);
                             });
    });
    if (ec) fail_connect(where, "resolving " + url_.host, ec);
    if (url_.tls) {
      secure_.emplace(ioc_, *tls_);
    } else {
      plain_.emplace(ioc_);
    }
    with_stream(
        [&](auto& ws) { beast::get_lowest_layer(ws).expires_after(options_.connect_timeout); });
    ec = run([&](auto done) {
      with_stream([&](auto& ws) {
        beast::get_lowest_layer(ws).async_connect(
            endpoints, [done](error_code e, const tcp::endpoint&) { done(e); });
      });
    });
    if (ec) fail_connect(where, "connecting", ec);
    if (secure_) {
      auto& tls = secure_->next_layer();
      if (!is_ip(url_.host)) SSL_set_tlsext_host_name(tls.native_handle(), url_.host.c_str());
      tls.set_verify_callback(asio::ssl::host_name_verification(url_.host));
      ec = run([&](auto done) { tls.async_handshake(asio::ssl::stream_base::client, done); });
      if (ec) fail_connect(where, "the TLS handshake", ec);
    }
    websocket::response_type response;
    with_stream([&](auto& ws) {
      beast::get_lowest_layer(ws).expires_never();
      // The idle timeout is ours (watch_idle): Beast's re-arms its timer at
      // every read, a system call per frame.
      websocket::stream_base::timeout t{};
      t.handshake_timeout = options_.connect_timeout;
      t.idle_timeout = websocket::stream_base::none();
      t.keep_alive_pings = false;
      ws.set_option(t);
      ws.control_callback(
          [this](websocket::frame_type, beast::string_view) { heard_ = Clock::now(); });
      ws.set_option(websocket::stream_base::decorator(
          [agent = options_.user_agent](websocket::request_type& r) {
            r.set(beast::http::field::user_agent, agent);
          }));
      // Any length: what is over max_frame_bytes is read and dropped.
      ws.read_message_max(0);
    });
    const std::string host =
        url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host;
    ec = run([&](auto done) {
      with_stream([&](auto& ws) {
        ws.async_handshake(response, host + ":" + url_.port, url_.target, done);
      });
    });
    if (ec == websocket::error::upgrade_declined) {
      drop();
      throw core::InfraError(core::FailureClass::kRetryable,
                             "websocket " + where + ": the server refused the upgrade: HTTP " +
                                 std::to_string(response.result_int()) + " " +
                                 std::string(response.reason()));
    }
    if (ec) fail_connect(where, "the WebSocket upgrade", ec);
    connected_ = true;
    heard_ = Clock::now();
    pinged_ = false;
    watch_idle();
  }

  void send_text(std::string_view message) {
    if (!connected_) lost(ended_.empty() ? "not connected" : ended_);
    const auto ec = run([&](auto done) {
      with_stream([&](auto& ws) {
        ws.text(true);
        ws.async_write(asio::buffer(message.data(), message.size()),
                       [done](error_code e, std::size_t) { done(e); });
      });
    });
    if (ec) {
      end(ec);
      lost(ended_);
    }
  }

  using Read = WebSocketClient::Read;

  // A read of a chunk stays in flight across calls (a timeout does not
  // cancel it: Beast's stream would be unusable after a cancelled read);
  // its handler belongs to the connection it was started on.
  Read read(WebSocketFrame& out, std::chrono::steady_clock::time_point deadline) {
    if (!connected_) return Read::kEnded;
    while (true) {
      if (!reading_) {
        reading_ = true;
        read_done_ = false;
        with_stream([&](auto& ws) {
          ws.async_read_some(asio::buffer(chunk_),
                             [this, generation = generation_](error_code e, std::size_t got) {
                               if (generation != generation_) return;  // a dropped connection's
                               read_ec_ = e;
                               read_n_ = got;
                               read_done_ = true;
                             });
        });
      }
      ioc_.restart();
      while (!read_done_) {
        if (ioc_.run_one_until(deadline) == 0) {
          if (std::chrono::steady_clock::now() >= deadline) return Read::kTimeout;
          ioc_.restart();
        }
      }
      reading_ = false;
      heard_ = Clock::now();
      if (read_ec_) {
        end(read_ec_);
        return Read::kEnded;
      }
      bool message_done = false;
      with_stream([&](auto& ws) {
        if (partial_.size == 0 && partial_.data.empty()) {
          partial_.type =
              ws.got_text() ? WebSocketFrame::Type::kText : WebSocketFrame::Type::kBinary;
        }
        message_done = ws.is_message_done();
      });
      partial_.size += read_n_;
      const std::size_t held = partial_.data.size();
      const std::size_t room =
          held < options_.max_frame_bytes ? options_.max_frame_bytes - held : 0;
      partial_.data.append(chunk_.data(), std::min(read_n_, room));
      if (!message_done) continue;
      if (partial_.size > options_.max_frame_bytes) partial_.type = WebSocketFrame::Type::kTooLarge;
      // The caller's buffer becomes the next frame's: no allocation per frame.
      out.type = partial_.type;
      out.size = partial_.size;
      out.data.swap(partial_.data);
      partial_.data.clear();
      partial_.size = 0;
      partial_.type = WebSocketFrame::Type::kText;
      return Read::kFrame;
    }
  }

  void close() {
    if (!connected_) return;
    run([&](auto done) {
      with_stream([&](auto& ws) { ws.async_close(websocket::close_code::going_away, done); });
    });
    connected_ = false;
    ended_ = "closed by us";
    drop();
  }

  void interrupt() {
    interrupted_ = true;
    asio::post(ioc_, [this] {
      if (!interrupted_) return;  // resumed since: a stale wake-up
      with_stream([](auto& ws) {
        error_code ignored;
        beast::get_lowest_layer(ws).socket().close(ignored);
      });
    });
  }

  void resume() { interrupted_ = false; }

  const std::string& ended() const { return ended_; }

 private:
  // Starts one operation and runs the loop until it completes; its error.
  template <typename Start>
  error_code run(Start start) {
    error_code result = asio::error::operation_aborted;
    bool finished = false;
    ioc_.restart();
    start([&result, &finished](error_code ec) {
      result = ec;
      finished = true;
    });
    while (!finished && ioc_.run_one() > 0) {
    }
    if (interrupted_ && (result || !finished)) return asio::error::operation_aborted;
    return result;
  }

  template <typename F>
  void with_stream(F f) {
    if (plain_) f(*plain_);
    if (secure_) f(*secure_);
  }

  [[noreturn]] void fail_connect(const std::string& where, const std::string& step, error_code ec) {
    drop();
    const std::string why = interrupted_ ? std::string("interrupted")
                            : ec == beast::error::timeout || ec == asio::error::operation_aborted
                                ? "no answer within " + seconds(options_.connect_timeout)
                                : ec.message();
    throw core::InfraError(core::FailureClass::kRetryable,
                           "websocket " + where + ": " + step + " failed: " + why);
  }

  [[noreturn]] void lost(const std::string& why) const {
    throw core::InfraError(core::FailureClass::kRetryable,
                           "websocket " + url_.redacted() + ": " + why);
  }

  // Records why the connection ended, and lets it go.
  void end(error_code ec) {
    connected_ = false;
    if (interrupted_) {
      ended_ = "interrupted";
    } else if (ec == websocket::error::closed) {
      websocket::close_reason reason;
      with_stream([&](auto& ws) { reason = ws.reason(); });
      ended_ = "closed by the server (code " + std::to_string(reason.code) +
               (reason.reason.empty() ? "" : ": " + std::string(reason.reason.c_str())) + ")";
    } else if (timed_out_ || ec == beast::error::timeout) {
      ended_ = "nothing heard for " + seconds(options_.idle_timeout) + " after a ping (stalled)";
    } else if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      ended_ = "the server closed the connection without a close frame";
    } else if (ec == asio::error::connection_reset) {
      ended_ = "the connection was reset";
    } else {
      ended_ = ec.message();
    }
    drop();
  }

  // Nothing heard for idle_timeout/2: a ping; nothing heard for a further
  // idle_timeout/2: the connection is stalled, and closed (the read in
  // flight ends). Armed once per idle_timeout/2, not per frame.
  void watch_idle() {
    const auto half = options_.idle_timeout / 2;
    idle_timer_.expires_at((pinged_ ? pinged_at_ : heard_) + half);
    idle_timer_.async_wait([this, generation = generation_, half](error_code ec) {
      if (ec || generation != generation_ || !connected_) return;
      const auto now = Clock::now();
      if (now - heard_ < half) {
        pinged_ = false;
      } else if (!pinged_) {
        pinged_ = true;
        pinged_at_ = now;
        with_stream([](auto& ws) { ws.async_ping({}, [](error_code) {}); });
      } else {
        timed_out_ = true;
        with_stream([](auto& ws) {
          error_code ignored;
          beast::get_lowest_layer(ws).socket().close(ignored);
        });
        return;
      }
      watch_idle();
    });
  }

  void drop() {
    connected_ = false;
    idle_timer_.cancel();
    // A read in flight on the dropped stream completes (aborted) later:
    // its handler must not touch the next connection's read.
    ++generation_;
    reading_ = false;
    partial_ = WebSocketFrame{};
    plain_.reset();
    secure_.reset();
  }

  WebSocketOptions options_;
  WebSocketUrl url_;
  using Clock = std::chrono::steady_clock;
  asio::io_context ioc_{1};
  asio::steady_timer idle_timer_{ioc_};
  Clock::time_point heard_;  // the last byte heard from the server
  bool pinged_ = false;      // since then
  Clock::time_point pinged_at_;
  bool timed_out_ = false;  // closed by watch_idle
  std::optional<asio::ssl::context> tls_;
  std::optional<Plain> plain_;
  std::optional<Secure> secure_;
  std::array<char, 64 * 1024> chunk_{};
  bool reading_ = false;  // an async_read_some in flight
  bool read_done_ = false;
  error_code read_ec_;
  std::size_t read_n_ = 0;
  std::uint64_t generation_ = 0;
  WebSocketFrame partial_;  // the frame being read
  bool connected_ = false;
  std::string ended_;
  std::atomic<bool> interrupted_{false};
};

WebSocketClient::WebSocketClient(WebSocketOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
WebSocketClient::~WebSocketClient() = default;
void WebSocketClient::connect() {
  impl_->connect();
}
void WebSocketClient::send_text(std::string_view message) {
  impl_->send_text(message);
}
WebSocketClient::Read WebSocketClient::read(WebSocketFrame& frame,
                                            std::chrono::steady_clock::time_point deadline) {
  return impl_->read(frame, deadline);
}
const std::string& WebSocketClient::ended() const {
  return impl_->ended();
}
void WebSocketClient::close() {
  impl_->close();
}
void WebSocketClient::interrupt() {
  impl_->interrupt();
}
void WebSocketClient::resume() {
  impl_->resume();
}

}  // namespace millrace::httpd
