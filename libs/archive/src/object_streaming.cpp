// ObjectDestination's files sent while they are written: opened() begins
// the upload, grew() sends each part once it is written, caught_up() what
// is written when the loop has read all there was, abandoned() gives a
// file up. prepare() (object_destination.cpp) sends what is left.
#include <algorithm>
#include <chrono>
#include <exception>
#include <limits>
#include <string>
#include <utility>

#include "millrace/runtime/log.hpp"
#include "streaming.hpp"

namespace millrace::archive::detail {

namespace {

// Short parts a file may send at most, while the loop has caught up: more
// parts cost requests, and a file that keeps growing sends full ones.
constexpr int kShortPartsMax = 8;

}  // namespace

void ObjectDestination::opened(const std::string& name, const std::string& relative,
                               std::int64_t max_bytes) {
  auto s = std::make_shared<Streaming>();
  s->file = std::make_shared<const SpoolFile>(local(name));
  const std::string tag = next_tag();
  const std::string marker_local = local(name) + ".marker";
  s->begun = uploads_
                 .submit([this, name, relative, max_bytes, tag, marker_local] {
                   return reported([&](objstore::ObjectStore& store) {
                     const std::string marker_key = staging_key(name);
                     put_marker(store, marker_key, marker_local, {relative, tag, ""});
                     Begun out{store.begin_upload(relative, tag), store.part_size_for(max_bytes)};
                     // Each short part takes a part's room under the limit.
                     out.short_min = std::max(store.min_part_size(), out.part_bytes / 4);
                     while (out.short_parts < kShortPartsMax &&
                            store.part_size_for(max_bytes + (out.short_parts + 1) *
                                                                out.part_bytes) == out.part_bytes) {
                       ++out.short_parts;
                     }
                     put_marker(store, marker_key, marker_local, {relative, tag, out.upload.id});
                     return out;
                   });
                 })
                 .share();
  std::lock_guard lock(streaming_mutex_);
  streaming_[name] = std::move(s);
}

bool ObjectDestination::begun(Streaming& s) {
  if (s.part_bytes > 0) return s.part_bytes != std::numeric_limits<std::int64_t>::max();
  // Not yet begun: the bytes wait (the next growth sends them), and the
  // loop that writes the file never waits for the store.
  if (s.begun.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
  try {
    const Begun& b = s.begun.get();
    s.part_bytes = b.part_bytes;
    s.short_parts = b.short_parts;
    s.short_min = b.short_min;
    return true;
  } catch (...) {
    s.part_bytes = std::numeric_limits<std::int64_t>::max();  // failed: prepare() says so
    return false;
  }
}

void ObjectDestination::send_part(Streaming& s, std::int64_t length) {
  const int n = static_cast<int>(s.parts.size()) + 1;
  s.parts.push_back(uploads_.submit([this, begun = s.begun, file = s.file, n, at = s.sent, length] {
    const objstore::Unfinished upload = begun.get().upload;
    const MappedFile part(*file, at, length);
    return reported(
        [&](objstore::ObjectStore& store) { return store.upload_part(upload, n, part.view()); });
  }));
  s.sent += length;
}

void ObjectDestination::grew(const std::string& name, std::int64_t bytes) {
  std::lock_guard lock(streaming_mutex_);
  const auto it = streaming_.find(name);
  if (it == streaming_.end()) return;
  Streaming& s = *it->second;
  s.written = bytes;
  if (!begun(s)) return;
  while (bytes - s.sent >= s.part_bytes) send_part(s, s.part_bytes);
}

void ObjectDestination::caught_up(const std::string& name) {
  std::lock_guard lock(streaming_mutex_);
  const auto it = streaming_.find(name);
  if (it == streaming_.end()) return;
  Streaming& s = *it->second;
  if (s.written == s.sent || !begun(s) || s.short_parts == 0) return;
  if (s.written - s.sent < s.short_min) return;
  --s.short_parts;
  send_part(s, s.written - s.sent);
}

std::shared_ptr<ObjectDestination::Streaming> ObjectDestination::take_streaming(
    const std::string& name) {
  std::lock_guard lock(streaming_mutex_);
  const auto it = streaming_.find(name);
  if (it == streaming_.end()) return nullptr;
  auto out = std::move(it->second);
  streaming_.erase(it);
  return out;
}

void ObjectDestination::drop(const std::string& name, Streaming& s) {
  const auto upload = s.settle();
  ::unlink(local(name).c_str());
  // An upload begun but not named (its begin failed on the way) keeps its
  // marker: the cleanup after a later commit aborts what it names.
  if (!upload) {
    left(name);
    return;
  }
  try {
    Lease store(*this);
    store->abort(*upload);
    store->remove(staging_key(name));
  } catch (const std::exception& e) {
    left(name);
    runtime::log_warn("archiver", e.what());
  }
}

void ObjectDestination::abandoned(const std::string& name) noexcept {
  try {
    auto s = take_streaming(name);
    if (!s) {
      ::unlink(local(name).c_str());
      return;
    }
    // After the parts queued before it: waiting here would hold up the
    // loop for a part's upload.
    uploads_.submit([this, name, s] { drop(name, *s); });
  } catch (const std::exception& e) {
    left(name);
    runtime::log_warn("archiver", std::string("giving up ") + name + ": " + e.what() +
                                      " (a later commit's cleanup removes what is left)");
  }
}

void ObjectDestination::left(const std::string& name) noexcept {
  try {
    std::lock_guard lock(left_mutex_);
    left_.push_back(name);
  } catch (...) {
    // Out of memory: the listing at least once a minute finds it.
  }
}

std::vector<std::string> ObjectDestination::left_staged() {
  std::lock_guard lock(left_mutex_);
  return std::exchange(left_, {});
}

}  // namespace millrace::archive::detail
