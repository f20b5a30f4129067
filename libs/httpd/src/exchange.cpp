// How a handler answers: a reply now, a deferred reply finished from any thread, or a stream.
#include "exchange.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <stdexcept>
#include <utility>
#include <vector>

#include "response_stream.hpp"
#include "session.hpp"

namespace millrace::httpd {

ExchangeImpl::ExchangeImpl(std::shared_ptr<Session> session)
    : loop_(session->loop()), session_(std::move(session)) {}

void ExchangeImpl::reply(Reply reply) {
  if (done_) return;
  done_ = true;
  std::move(session_)->write(std::move(reply));
}

void ExchangeImpl::defer(Clock::duration timeout, std::function<Reply()> make) {
  make_ = std::move(make);
  deadline_ = Clock::now() + timeout;
  loop_.deferred.push_back(shared_from_this());
}

void ExchangeImpl::finish() {
  asio::post(*loop_.context, [self = shared_from_this()] { self->run(); });
}

std::shared_ptr<Stream> ExchangeImpl::stream(Reply head, std::size_t max_buffered) {
  if (done_ || make_) throw std::logic_error("Exchange::stream after the request was answered");
  done_ = true;
  auto s = std::make_shared<StreamImpl>(loop_, session_, max_buffered);
  std::move(session_)->begin_stream(std::move(head), s);
  return s;
}

void ExchangeImpl::run() {
  if (done_ || !make_) return;
  done_ = true;
  Reply r = make_();
  make_ = nullptr;
  // Once answered, the exchange holds nothing of the connection's, so a
  // late holder (a delivery report after the deadline) pins no socket.
  std::move(session_)->write(std::move(r));
}

void Exchange::finish_all(std::vector<std::shared_ptr<Exchange>>& exchanges) {
  // Few loops: a linear scan groups them.
  std::vector<std::pair<Loop*, std::vector<std::shared_ptr<ExchangeImpl>>>> by_loop;
  for (auto& e : exchanges) {
    auto impl = std::static_pointer_cast<ExchangeImpl>(std::move(e));
    Loop* loop = &impl->loop();
    auto it = std::find_if(by_loop.begin(), by_loop.end(),
                           [loop](const auto& entry) { return entry.first == loop; });
    if (it == by_loop.end()) it = by_loop.insert(by_loop.end(), {loop, {}});
    it->second.push_back(std::move(impl));
  }
  exchanges.clear();
  for (auto& [loop, group] : by_loop) {
    asio::post(*loop->context, [group = std::move(group)] {
      for (const auto& e : group) e->run();
    });
  }
}

}  // namespace millrace::httpd
