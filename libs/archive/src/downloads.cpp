#include "downloads.hpp"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <stdexcept>
#include <string_view>

#include "millrace/archive/index.hpp"
#include "millrace/archive/reader.hpp"
#include "millrace/objstore/store.hpp"
#include "object_destination.hpp"

namespace millrace::archive::detail {

namespace {

// Two readers in one process (a replay, a view's fill) download apart.
std::atomic<unsigned> next_download_dir{0};

}  // namespace

Downloads::Downloads(objstore::ObjectStore& store, const std::string& parent) : store_(store) {
  if (!store_.local_path("")) {
    dir_ = std::filesystem::path(parent.empty() ? std::filesystem::temp_directory_path().string()
                                                : parent) /
           ("millrace-replay-" + std::to_string(::getpid()) + "-" +
            std::to_string(next_download_dir++));
  }
}

Downloads::~Downloads() {
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::string Downloads::fetch(const std::string& key) {
  if (const auto path = store_.local_path(key)) return sha256_of_file(*path);
  const auto path = dir_ / key;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path.string() + " (the download directory)");
  store_.read(key, [&](std::string_view piece) {
    out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
  });
  out.close();
  if (!out) throw std::runtime_error("writing " + path.string() + " failed (is the disk full?)");
  return sha256_of_file(path.string());
}

std::string Downloads::path(const std::string& key) const {
  if (const auto local = store_.local_path(key)) return *local;
  return (dir_ / key).string();
}

void Downloads::drop(const std::string& key) {
  if (dir_.empty()) return;
  std::error_code ec;
  std::filesystem::remove(dir_ / key, ec);
}

}  // namespace millrace::archive::detail

namespace millrace::archive {

namespace {

// Whether the file at `path` is an upload's marker, not a staged file.
bool is_upload_marker(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text(4096, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return detail::parse_marker(text).has_value();
}

}  // namespace

void read_archived(objstore::ObjectStore& store, const std::string& download_dir,
                   const std::string& topic, const std::vector<ArchivedFile>& files,
                   const std::function<void(CaptureRecord&&)>& on_record) {
  detail::Downloads local(store, download_dir);
  for (const auto& f : files) {
    // A file recorded but not published yet is still staged, until its
    // partition's next commit moves it into place: read there, or, moved
    // meanwhile, in its place.
    std::string key = f.published ? f.path : ".staging/" + f.staged;
    std::string sha;
    try {
      sha = local.fetch(key);
    } catch (const std::runtime_error&) {
      if (f.published) throw;
      key = f.path;
      sha = local.fetch(key);
    }
    if (sha != f.sha256 && key != f.path && is_upload_marker(local.path(key))) {
      // In a bucket, a file not published yet is an upload under its place,
      // completed with its partition's next commit; what is staged is the
      // marker naming it (object_destination.hpp). Once completed it is
      // read in its place; until then, later.
      local.drop(key);
      key = f.path;
      try {
        sha = local.fetch(key);
      } catch (const std::runtime_error&) {
        throw objstore::StoreError(
            objstore::ErrorKind::kNotFound,
            store.describe() + " " + f.path +
                " is recorded but its upload is not completed yet (its partition's next commit "
                "completes it): read it again later");
      }
    }
    if (sha != f.sha256) {
      throw std::runtime_error(store.describe() + " " + key +
                               " does not match its checksum in archive_files (run `millrace "
                               "archive verify`)");
    }
    const auto path = local.path(key);
    read_capture_file(path, [&](CaptureRecord&& rec) {
      if (rec.partition != f.partition || rec.topic != topic) {
        throw std::runtime_error(path + ": offset " + std::to_string(rec.offset) +
                                 " says it is of " + rec.topic + "[" +
                                 std::to_string(rec.partition) + "], its row says " + topic + "[" +
                                 std::to_string(f.partition) + "]");
      }
      on_record(std::move(rec));
    });
    local.drop(key);
  }
}

}  // namespace millrace::archive
