// The Stream a handler holds: queues chunks from any thread and wakes the session to write them.
#include "response_stream.hpp"

#include <boost/asio/post.hpp>

#include "event_loop.hpp"
#include "session.hpp"
#include "wire.hpp"

namespace millrace::httpd {

bool StreamImpl::send(std::string_view data) {
  std::lock_guard lock(mutex_);
  if (ended_) return false;
  if (data.empty()) return true;
  if (pending_.size() + in_flight_ + data.size() > max_buffered_) {
    // Too far behind: drop whole pieces and end at a boundary.
    ended_ = true;
    pending_.clear();
    wake();
    return false;
  }
  detail::append_chunk(pending_, data);
  wake();
  return true;
}

void StreamImpl::close() {
  std::lock_guard lock(mutex_);
  if (ended_) return;
  ended_ = true;
  wake();
}

bool StreamImpl::open() const {
  std::lock_guard lock(mutex_);
  return !ended_;
}

std::string StreamImpl::take(bool& last) {
  std::lock_guard lock(mutex_);
  posted_ = false;
  std::string out;
  out.swap(pending_);
  in_flight_ = out.size();
  last = ended_;
  return out;
}

void StreamImpl::wrote() {
  std::lock_guard lock(mutex_);
  in_flight_ = 0;
}

void StreamImpl::gone() {
  std::lock_guard lock(mutex_);
  ended_ = true;
  pending_.clear();
}

void StreamImpl::wake() {
  if (posted_) return;
  posted_ = true;
  asio::post(*loop_.context, [session = session_] {
    if (const auto s = session.lock()) s->stream_pull();
  });
}

}  // namespace millrace::httpd
