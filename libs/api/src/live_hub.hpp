#pragma once

// The live dashboard's stream, GET /v1/stream (Server-Sent Events): the
// latest state (each dashboard view's body as GET /v1/views/{name} gives
// it, and the pipeline health) and the open streams. Thread-safe: streams
// are added from the HTTP threads, state published from the live driver's.
// No I/O of its own (httpd::Stream queues), so the unit tests drive it with
// fake streams.
//
// Events (docs/api.md, "The live stream"):
//   snapshot  id, {"at","views":{name: body},"health"}  first, per connection
//   views     id, {"at","views":{only the views whose rows changed}}
//   health    no id, the health object, every few seconds
//   ": ping"  a comment, so idle connections are seen to be alive
// Ids are "<epoch>-<seq>": a client whose Last-Event-ID is still the
// current one has missed nothing and gets no snapshot; any other gets one.
// Each views event carries whole views, so a snapshot is all a client that
// missed events needs (no replay log).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/httpd/server.hpp"

namespace millrace::api {

class LiveHub {
 public:
  // `epoch` tells this process's ids from an earlier one's.
  explicit LiveHub(std::string epoch);

  // Answers a GET /v1/stream on `exchange` (from Handler::handle): the
  // stream's head and first piece, and the stream kept for what follows.
  void subscribe(const std::shared_ptr<httpd::Exchange>& exchange,
                 std::optional<std::string_view> last_event_id);

  // Sends the views whose bodies differ from the last ones published, as
  // one `views` event with a new id. `bodies`: view name to body. Returns
  // how many views changed.
  std::size_t publish_views(const std::map<std::string, std::string>& bodies, std::string_view at);
  // Sends a `health` event and keeps it for the snapshots.
  void publish_health(std::string health);
  // A comment to every stream; drops the streams that ended.
  void ping();

  std::size_t clients() const;
  std::string current_id() const;  // "" before the first views

  // A client more than this many bytes behind is cut off (it reconnects and
  // gets a snapshot).
  static constexpr std::size_t kMaxBuffered = 4 << 20;

 private:
  std::string id_locked() const;
  std::string snapshot_locked(std::string_view at) const;
  void broadcast_locked(std::string_view piece);

  const std::string epoch_;
  mutable std::mutex mutex_;
  std::uint64_t seq_ = 0;
  std::string at_;  // when the views were last published
  std::map<std::string, std::string> views_;
  std::string health_ = "null";
  std::vector<std::shared_ptr<httpd::Stream>> streams_;
};

// One SSE event: "id: ..\nevent: ..\ndata: ..\n\n" (no id line when `id`
// is empty). `data` must be one line (JSON as rapidjson writes it is).
std::string sse_event(std::string_view event, std::string_view id, std::string_view data);

}  // namespace millrace::api
