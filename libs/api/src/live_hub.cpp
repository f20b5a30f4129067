#include "live_hub.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace millrace::api {

namespace {
// The client's reconnection delay (EventSource's `retry`), in ms.
constexpr std::string_view kPreamble = "retry: 1000\n\n";
}  // namespace

std::string sse_event(std::string_view event, std::string_view id, std::string_view data) {
  if (data.find('\n') != std::string_view::npos || data.find('\r') != std::string_view::npos) {
    throw std::logic_error("an SSE data line holds a line break");
  }
  std::string out;
  out.reserve(event.size() + id.size() + data.size() + 32);
  if (!id.empty()) {
    out += "id: ";
    out += id;
    out += '\n';
  }
  out += "event: ";
  out += event;
  out += "\ndata: ";
  out += data;
  out += "\n\n";
  return out;
}

LiveHub::LiveHub(std::string epoch) : epoch_(std::move(epoch)) {}

std::string LiveHub::id_locked() const {
  return seq_ == 0 ? std::string() : epoch_ + "-" + std::to_string(seq_);
}

std::string LiveHub::current_id() const {
  std::lock_guard lock(mutex_);
  return id_locked();
}

std::size_t LiveHub::clients() const {
  std::lock_guard lock(mutex_);
  return streams_.size();
}

std::string LiveHub::snapshot_locked(std::string_view at) const {
  std::string data = "{\"at\":\"";
  data += at;
  data += "\",\"views\":{";
  bool first = true;
  for (const auto& [name, body] : views_) {
    if (!first) data += ',';
    first = false;
    data += '"';
    data += name;
    data += "\":";
    data += body;
  }
  data += "},\"health\":";
  data += health_;
  data += '}';
  return sse_event("snapshot", id_locked(), data);
}

void LiveHub::subscribe(const std::shared_ptr<httpd::Exchange>& exchange,
                        std::optional<std::string_view> last_event_id) {
  httpd::Reply head;
  head.content_type = "text/event-stream";
  // No proxy may buffer or keep it (nginx honours X-Accel-Buffering).
  head.headers = {{"Cache-Control", "no-store"}, {"X-Accel-Buffering", "no"}};
  std::lock_guard lock(mutex_);
  head.body = kPreamble;
  const std::string current = id_locked();
  if (current.empty() || !last_event_id || *last_event_id != current) {
    head.body += snapshot_locked(at_);
  }
  streams_.push_back(exchange->stream(std::move(head), kMaxBuffered));
}

std::size_t LiveHub::publish_views(const std::map<std::string, std::string>& bodies,
                                   std::string_view at) {
  std::lock_guard lock(mutex_);
  std::string changed;
  std::size_t n = 0;
  for (const auto& [name, body] : bodies) {
    auto& kept = views_[name];
    if (kept == body) continue;
    kept = body;
    changed += n++ == 0 ? "" : ",";
    changed += '"';
    changed += name;
    changed += "\":";
    changed += body;
  }
  at_ = at;
  if (n == 0) return 0;
  ++seq_;
  std::string data = "{\"at\":\"";
  data += at;
  data += "\",\"views\":{";
  data += changed;
  data += "}}";
  broadcast_locked(sse_event("views", id_locked(), data));
  return n;
}

void LiveHub::publish_health(std::string health) {
  std::lock_guard lock(mutex_);
  health_ = std::move(health);
  broadcast_locked(sse_event("health", "", health_));
}

void LiveHub::ping() {
  std::lock_guard lock(mutex_);
  broadcast_locked(": ping\n\n");
}

void LiveHub::broadcast_locked(std::string_view piece) {
  std::erase_if(streams_, [&](const std::shared_ptr<httpd::Stream>& s) { return !s->send(piece); });
}

}  // namespace millrace::api
