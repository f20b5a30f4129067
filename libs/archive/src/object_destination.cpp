#include "object_destination.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string_view>

#include "millrace/runtime/log.hpp"
#include "streaming.hpp"

namespace millrace::archive::detail {

namespace {

namespace fs = std::filesystem;

constexpr const char* kStaging = ".staging/";
constexpr const char* kMarker = "millrace-upload\n";
// A marker is a few hundred bytes; anything larger under ".staging/" is an
// earlier version's staged file.
constexpr std::int64_t kMarkerMax = 4096;

struct Marker {
  // nullopt: the object is an earlier version's staged copy of the file.
  std::optional<UploadMarker> upload;
};

// What is under ".staging/" as `key`; nullopt when nothing is.
std::optional<Marker> read_marker(objstore::ObjectStore& store, const std::string& key) {
  const auto size = store.size_of(key);
  if (!size) return std::nullopt;
  if (*size > kMarkerMax) return Marker{};
  std::string text;
  try {
    store.read(key, [&](std::string_view piece) { text.append(piece); });
  } catch (const objstore::StoreError& e) {
    if (e.kind() == objstore::ErrorKind::kNotFound) return std::nullopt;
    throw;
  }
  return Marker{parse_marker(text)};
}

// An attempt that died between beginning its upload and naming it: the
// uploads under its key that no other marker of the directory names (a
// live attempt at the same place names its own at once) are its own.
void abort_unnamed(objstore::ObjectStore& store, const std::string& name,
                   const UploadMarker& marker) {
  const std::string dir = staging_key(name.substr(0, name.rfind('/') + 1));
  std::set<std::string> named;
  for (const auto& o : store.list(dir)) {
    if (o.key == staging_key(name)) continue;
    if (const auto other = read_marker(store, o.key); other && other->upload) {
      named.insert(other->upload->id);
    }
  }
  for (const auto& u : store.unfinished(marker.key)) {
    if (u.key != marker.key) continue;
    // Azure lists a blob with uncommitted blocks, not whose they are: its
    // abort takes the tag's, and only when no other's are there.
    if (u.id.empty()) {
      store.abort({marker.key, marker.tag});
    } else if (!named.contains(u.id)) {
      store.abort(u);
    }
  }
}

}  // namespace

std::string staging_key(const std::string& name) {
  return kStaging + name;
}

void put_marker(objstore::ObjectStore& store, const std::string& key, const std::string& local,
                const UploadMarker& marker) {
  {
    std::ofstream out(local, std::ios::binary | std::ios::trunc);
    out << marker_text(marker);
    if (!out.flush()) throw std::runtime_error("writing " + local);
  }
  try {
    store.put_file(key, local);
  } catch (const objstore::StoreError&) {
    ::unlink(local.c_str());
    throw;
  }
  ::unlink(local.c_str());
}

ObjectDestination::ObjectDestination(Open open, std::string spool, std::string writer_id,
                                     std::size_t parallel, StoreHealth* health)
    : open_(std::move(open)),
      spool_((fs::path(spool) / writer_id).string()),
      health_(health),
      parallel_(parallel),
      tags_(std::random_device{}()),
      uploads_(parallel, core::TaskQueue::AtEnd::kDrop) {}

ObjectDestination::Lease::Lease(ObjectDestination& owner) : owner_(owner) {
  {
    std::lock_guard lock(owner_.pool_mutex_);
    if (!owner_.pool_.empty()) {
      store_ = std::move(owner_.pool_.back());
      owner_.pool_.pop_back();
    }
  }
  if (!store_) store_ = owner_.open_();
}

ObjectDestination::Lease::~Lease() {
  std::lock_guard lock(owner_.pool_mutex_);
  owner_.pool_.push_back(std::move(store_));
}

std::string ObjectDestination::local(const std::string& name) const {
  return (fs::path(spool_) / name).string();
}

std::string ObjectDestination::staging_path(const std::string& name) {
  const fs::path path = local(name);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) {
    throw std::runtime_error("creating the spool directory " + path.parent_path().string() + ": " +
                             ec.message());
  }
  return path.string();
}

void ObjectDestination::sync_staged(const std::string&) {}

std::string ObjectDestination::next_tag() {
  std::lock_guard lock(prepared_mutex_);
  char text[17];
  std::snprintf(text, sizeof text, "%016" PRIx64, ++tags_);
  return text;
}

void ObjectDestination::prepare(const Placed& files) {
  struct File {
    std::string path;
    std::int64_t size = 0;
    std::int64_t part_bytes = 0;
    objstore::Unfinished upload;
    std::vector<std::string> parts;
    std::shared_ptr<Streaming> streamed;  // opened(): begun, and parts sent
    std::unique_ptr<SpoolFile> file;      // else: all its parts go now
    std::unique_ptr<MappedFile> bytes;
  };
  std::vector<File> staged(files.size());
  std::vector<std::size_t> fresh;  // the files not opened()
  // Which file each step is of, and its part's number: -1 for the rest of a
  // streamed file, 0 for a fresh file's marker with its upload's id.
  std::vector<std::pair<std::size_t, int>> steps;
  const auto remove_local = [&] {
    for (const auto& f : staged) ::unlink(f.path.c_str());
  };
  try {
    for (std::size_t i = 0; i < files.size(); ++i) {
      auto& f = staged[i];
      f.path = local(files[i].first);
      std::error_code ec;
      f.size = static_cast<std::int64_t>(fs::file_size(f.path, ec));
      if (ec) throw std::runtime_error("reading " + f.path + ": " + ec.message());
      f.streamed = take_streaming(files[i].first);
      if (f.streamed) continue;
      fresh.push_back(i);
      f.file = std::make_unique<SpoolFile>(f.path);
      f.bytes = std::make_unique<MappedFile>(*f.file, 0, f.size);
    }
    // Every fresh upload begun, after a marker names its place; then its
    // parts go up, and the marker is written again with its id, all at once.
    std::vector<std::string> tags(files.size());
    parallel_.run(fresh.size(), [&](std::size_t k) {
      const std::size_t i = fresh[k];
      auto& f = staged[i];
      const std::string& name = files[i].first;
      reported([&](objstore::ObjectStore& store) {
        f.part_bytes = store.part_size_for(f.size);
        tags[i] = next_tag();
        put_marker(store, staging_key(name), f.path + ".marker", {files[i].second, tags[i], ""});
        f.upload = store.begin_upload(files[i].second, tags[i]);
      });
    });
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (staged[i].streamed) {
        steps.emplace_back(i, -1);
        continue;
      }
      const auto count = std::max<std::int64_t>(
          1, (staged[i].size + staged[i].part_bytes - 1) / staged[i].part_bytes);
      staged[i].parts.resize(static_cast<std::size_t>(count));
      steps.emplace_back(i, 0);
      for (int n = 1; n <= count; ++n) steps.emplace_back(i, n);
    }
    parallel_.run(steps.size(), [&](std::size_t k) {
      const std::size_t i = steps[k].first;  // not bindings: the lambdas capture them
      const int n = steps[k].second;
      auto& f = staged[i];
      if (n < 0) {
        // The parts sent while it was written, then the rest, as the last.
        Streaming& s = *f.streamed;
        f.upload = s.begun.get().upload;
        for (auto& part : s.parts) f.parts.push_back(part.get());
        if (f.size > s.sent || f.parts.empty()) {
          const MappedFile rest(*s.file, s.sent, f.size - s.sent);
          const int last = static_cast<int>(f.parts.size()) + 1;
          f.parts.push_back(reported([&](objstore::ObjectStore& store) {
            return store.upload_part(f.upload, last, rest.view());
          }));
        }
        return;
      }
      if (n == 0) {
        reported([&](objstore::ObjectStore& store) {
          put_marker(store, staging_key(files[i].first), f.path + ".marker",
                     {files[i].second, tags[i], f.upload.id});
        });
        return;
      }
      const std::int64_t at = (n - 1) * f.part_bytes;
      const auto bytes = f.bytes->view(at, std::min(f.part_bytes, f.size - at));
      f.parts[static_cast<std::size_t>(n) - 1] = reported(
          [&](objstore::ObjectStore& store) { return store.upload_part(f.upload, n, bytes); });
    });
  } catch (...) {
    remove_local();
    // What was begun goes now, where it can: what cannot is aborted by the
    // cleanup after a later commit (its marker names it). Not reported to
    // health: the failure above is what readiness says.
    for (std::size_t i = 0; i < files.size(); ++i) {
      auto& f = staged[i];
      if (f.streamed) {
        drop(files[i].first, *f.streamed);
        continue;
      }
      try {
        Lease store(*this);
        if (!f.upload.key.empty()) store->abort(f.upload);
        store->remove(staging_key(files[i].first));
      } catch (const objstore::StoreError& e) {
        runtime::log_warn("archiver", e.what());
      }
    }
    throw;
  }
  remove_local();
  std::lock_guard lock(prepared_mutex_);
  for (std::size_t i = 0; i < files.size(); ++i) {
    prepared_[files[i].first] = {std::move(staged[i].upload), std::move(staged[i].parts)};
  }
}

std::optional<ObjectDestination::Prepared> ObjectDestination::take_prepared(
    const std::string& name) {
  std::lock_guard lock(prepared_mutex_);
  const auto it = prepared_.find(name);
  if (it == prepared_.end()) return std::nullopt;
  Prepared out = std::move(it->second);
  prepared_.erase(it);
  return out;
}

Destination::Published ObjectDestination::publish(const std::string& name,
                                                  const std::string& relative) {
  auto mine = take_prepared(name);
  try {
    return reported([&](objstore::ObjectStore& store) {
      const std::string marker_key = staging_key(name);
      const auto gone = [&] {
        // Completed by an earlier attempt (which may have died before it
        // deleted the marker), or lost.
        store.remove(marker_key);
        return store.size_of(relative) ? Published::kAlready : Published::kMissing;
      };
      if (!mine) {
        const auto marker = read_marker(store, marker_key);
        if (!marker) return store.size_of(relative) ? Published::kAlready : Published::kMissing;
        if (!marker->upload) {
          // An earlier version's staged copy of the file.
          store.copy(marker_key, relative);
          store.remove(marker_key);
          return Published::kMoved;
        }
        const UploadMarker& m = *marker->upload;
        if (m.key != relative) {
          throw objstore::StoreError(objstore::ErrorKind::kRefused,
                                     marker_key + " names an upload to " + m.key +
                                         ", but the file is recorded at " + relative);
        }
        // A file is recorded only once its upload is named (prepare()
        // returned): a marker without an id is of an attempt never recorded.
        if (m.id.empty()) return gone();
        auto parts = store.uploaded_parts(m.upload());
        if (!parts) return gone();
        mine = Prepared{m.upload(), std::move(*parts)};
      }
      try {
        store.complete_upload(mine->upload, mine->parts);
      } catch (const objstore::StoreError& e) {
        if (e.kind() != objstore::ErrorKind::kNotFound) throw;
        return gone();
      }
      store.remove(marker_key);
      return Published::kMoved;
    });
  } catch (...) {
    // Kept for the next try (the partition's next commit, or the empty
    // window's thread): the parts need not be listed again.
    if (mine) {
      std::lock_guard lock(prepared_mutex_);
      prepared_.try_emplace(name, std::move(*mine));
    }
    throw;
  }
}

std::vector<Destination::Outcome> ObjectDestination::publish_each(const Placed& files) {
  std::vector<Outcome> out(files.size());
  parallel_.run(files.size(), [&](std::size_t i) {
    try {
      out[i].published = publish(files[i].first, files[i].second);
    } catch (const std::exception& e) {
      out[i].failed = e.what();
    }
  });
  return out;
}

std::vector<std::vector<std::string>> ObjectDestination::staged_in_each(
    const std::vector<std::string>& dirs) {
  std::vector<std::vector<std::string>> out(dirs.size());
  parallel_.run(dirs.size(), [&](std::size_t i) { out[i] = staged_in(dirs[i]); });
  return out;
}

std::vector<std::string> ObjectDestination::staged_in(const std::string& dir) {
  std::set<std::string> names;
  // Local copies a batch finished but never uploaded (it failed before).
  std::error_code ec;
  for (fs::directory_iterator it(fs::path(spool_) / dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const auto file = it->path().filename().string();
    if (it->is_regular_file(ec) && file.ends_with(".avro")) names.insert(dir + "/" + file);
  }
  return reported([&](objstore::ObjectStore& store) {
    const std::string prefix = staging_key(dir + "/");
    const auto strip = [](const std::string& key) {
      return key.substr(std::string(kStaging).size());
    };
    // One listing, after each commit: an earlier version's unfinished
    // uploads of staged objects are left to the bucket's lifecycle rule.
    for (const auto& o : store.list(prefix)) names.insert(strip(o.key));
    return std::vector<std::string>(names.begin(), names.end());
  });
}

void ObjectDestination::remove_staged(const std::string& name) {
  ::unlink(local(name).c_str());
  // What is being sent ends first; the marker (written again with the id
  // once begun) says what to abort.
  if (const auto s = take_streaming(name)) s->settle();
  const auto mine = take_prepared(name);
  reported([&](objstore::ObjectStore& store) {
    const std::string key = staging_key(name);
    if (mine) store.abort(mine->upload);
    if (const auto marker = read_marker(store, key); marker && marker->upload) {
      if (marker->upload->id.empty()) {
        abort_unnamed(store, name, *marker->upload);
      } else {
        store.abort(marker->upload->upload());
      }
    }
    store.remove(key);
    for (const auto& u : store.unfinished(key)) {
      if (u.key == key) store.abort(u);
    }
  });
}

std::string marker_text(const UploadMarker& marker) {
  return std::string(kMarker) + marker.key + "\n" + marker.tag + "\n" + marker.id + "\n";
}

std::optional<UploadMarker> parse_marker(const std::string& text) {
  if (text.rfind(kMarker, 0) != 0) return std::nullopt;
  std::vector<std::string> lines;
  std::size_t at = std::strlen(kMarker);
  for (std::size_t end; (end = text.find('\n', at)) != std::string::npos; at = end + 1) {
    lines.push_back(text.substr(at, end - at));
  }
  if (lines.size() != 3 || lines[0].empty() || at != text.size()) return std::nullopt;
  return UploadMarker{lines[0], lines[1], lines[2]};
}

}  // namespace millrace::archive::detail
