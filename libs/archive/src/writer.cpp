#include "millrace/archive/writer.hpp"

#include <avro.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "capture_encoder.hpp"
#include "hex.hpp"
#include "millrace/core/failure.hpp"

namespace millrace::archive {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what);
}
[[noreturn]] void fail_avro(const std::string& what) {
  fail(what + ": " + avro_strerror());
}
[[noreturn]] void fail_errno(const std::string& what) {
  fail(what + ": " + std::strerror(errno));
}

void fsync_path(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) fail_errno("opening " + path.string() + " to sync it");
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0) fail_errno("fsync of " + path.string());
}

// Syncs each directory from `dir` up to `root` (both included): a new file's
// name, and the directories made for it, outlive a crash only so.
void sync_dirs_up_to(const fs::path& dir, const fs::path& root) {
  const fs::path top = root.lexically_normal();
  for (fs::path d = dir.lexically_normal();; d = d.parent_path()) {
    fsync_path(d, O_RDONLY | O_DIRECTORY);
    if (d == top || !d.has_parent_path() || d.parent_path() == d) break;
  }
}

}  // namespace

std::vector<Destination::Outcome> Destination::publish_each(const Placed& files) {
  std::vector<Outcome> out(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    try {
      out[i].published = publish(files[i].first, files[i].second);
    } catch (const std::exception& e) {
      out[i].failed = e.what();
    }
  }
  return out;
}

std::vector<std::vector<std::string>> Destination::staged_in_each(
    const std::vector<std::string>& dirs) {
  std::vector<std::vector<std::string>> out;
  for (const auto& dir : dirs) out.push_back(staged_in(dir));
  return out;
}

DirectoryDestination::DirectoryDestination(std::string root)
    : root_(std::move(root)), staging_((fs::path(root_) / ".staging").string()) {}

std::string DirectoryDestination::staging_path(const std::string& name) {
  const fs::path path = fs::path(staging_) / name;
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) fail("creating " + path.parent_path().string() + ": " + ec.message());
  return path.string();
}

void DirectoryDestination::sync_staged(const std::string& name) {
  sync_dirs_up_to((fs::path(staging_) / name).parent_path(), fs::path(root_));
}

Destination::Published DirectoryDestination::publish(const std::string& name,
                                                     const std::string& relative) {
  const fs::path staged = fs::path(staging_) / name;
  const fs::path final_path = fs::path(root_) / relative;
  std::error_code ec;
  fs::create_directories(final_path.parent_path(), ec);
  if (ec) fail("creating " + final_path.parent_path().string() + ": " + ec.message());
  if (::rename(staged.c_str(), final_path.c_str()) != 0) {
    if (errno != ENOENT) fail_errno("renaming " + staged.string() + " to " + final_path.string());
    return fs::exists(final_path, ec) ? Published::kAlready : Published::kMissing;
  }
  // The rename, and the directories made for it, must outlive a crash: sync
  // each directory from the file's up to the root, and the staging one.
  sync_dirs_up_to(final_path.parent_path(), fs::path(root_));
  fsync_path(staged.parent_path(), O_RDONLY | O_DIRECTORY);
  return Published::kMoved;
}

std::vector<std::string> DirectoryDestination::staged_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(fs::path(staging_) / dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_regular_file(ec)) out.push_back((fs::path(dir) / it->path().filename()).string());
  }
  return out;
}

void DirectoryDestination::remove_staged(const std::string& name) {
  const fs::path path = fs::path(staging_) / name;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail_errno("removing " + path.string());
}

struct CaptureFileWriter::State {
  State(Destination& d, std::string name, std::int32_t p)
      : destination(d), name(std::move(name)), partition(p) {}

  Destination& destination;
  std::string name;  // in the staging area
  std::int32_t partition;
  std::string staged;  // its local path

  // The file: Avro writes to `fp`, whose writes (fopencookie) go to `fd`
  // and through the SHA-256 of the file's bytes.
  int fd = -1;
  FILE* fp = nullptr;
  EVP_MD_CTX* sha = nullptr;
  std::int64_t written = 0;

  avro_schema_t schema = nullptr;
  avro_file_writer_t writer = nullptr;
  detail::CaptureEncoder encoder;

  std::int64_t first = -1;
  std::int64_t last = -1;
  std::int64_t records = 0;
  std::int64_t encoded = 0;
  std::int64_t min_time = -1;
  std::int64_t max_time = -1;
  bool finished = false;
  std::int64_t block_bytes = 0;

  static ssize_t cookie_write(void* cookie, const char* buf, size_t size) {
    auto* s = static_cast<State*>(cookie);
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::write(s->fd, buf + done, size - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return -1;
      }
      done += static_cast<size_t>(n);
    }
    EVP_DigestUpdate(s->sha, buf, size);
    s->written += static_cast<std::int64_t>(size);
    // Avro writes a whole block at a time: an object store may send what
    // is written while the file goes on.
    try {
      s->destination.grew(s->name, s->written);
    } catch (...) {
      errno = EIO;  // what Avro's error says; the destination's own comes at prepare()
      return -1;
    }
    return static_cast<ssize_t>(size);
  }

  void release() {
    if (writer != nullptr) {
      avro_file_writer_close(writer);
      writer = nullptr;
    }
    if (fp != nullptr) {
      std::fclose(fp);
      fp = nullptr;
    }
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
    if (schema != nullptr) {
      avro_schema_decref(schema);
      schema = nullptr;
    }
    if (sha != nullptr) {
      EVP_MD_CTX_free(sha);
      sha = nullptr;
    }
  }
};

CaptureFileWriter::CaptureFileWriter(Destination& destination, std::string staged,
                                     std::int32_t partition, std::int64_t block_bytes)
    : state_(std::make_unique<State>(destination, std::move(staged), partition)) {
  State& s = *state_;
  s.block_bytes = block_bytes;
  try {
    s.staged = destination.staging_path(s.name);
    s.fd = ::open(s.staged.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (s.fd < 0) fail_errno("creating " + s.staged);
    s.sha = EVP_MD_CTX_new();
    if (s.sha == nullptr || EVP_DigestInit_ex(s.sha, EVP_sha256(), nullptr) != 1) {
      fail("SHA-256 is not available");
    }
    cookie_io_functions_t io{};
    io.write = &State::cookie_write;
    s.fp = fopencookie(&s, "w", io);
    if (s.fp == nullptr) fail_errno("fopencookie");
    const auto json = capture_schema_json();
    if (avro_schema_from_json_length(json.data(), json.size(), &s.schema) != 0) {
      fail_avro("the Capture schema");
    }
    if (avro_file_writer_create_with_codec_fp(s.fp, s.staged.c_str(), 0, s.schema, &s.writer,
                                              "null", static_cast<size_t>(block_bytes)) != 0) {
      fail_avro("starting " + s.staged);
    }
  } catch (...) {
    s.release();
    if (!s.staged.empty()) ::unlink(s.staged.c_str());
    throw;
  }
}

CaptureFileWriter::~CaptureFileWriter() {
  State& s = *state_;
  const bool unfinished = !s.finished;
  s.release();
  if (unfinished && !s.staged.empty()) {
    ::unlink(s.staged.c_str());
    s.destination.abandoned(s.name);
  }
}

void CaptureFileWriter::append(const CaptureRecord& record) {
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  append_view(view_of(record, headers));
}

void CaptureFileWriter::append_view(const CaptureRecordView& r) {
  State& s = *state_;
  if (s.finished) throw std::logic_error("append after finish");
  if (s.records > 0 && r.offset <= s.last) {
    throw std::logic_error("offsets must grow: " + std::to_string(r.offset) + " after " +
                           std::to_string(s.last));
  }
  const std::string_view encoded = s.encoder.encode(r);
  const std::size_t size = encoded.size();
  // Avro C keeps a block in memory and cannot put a datum larger than it
  // in any block: say so, rather than its "Value too large for file block
  // size". Nothing was committed: raising the setting archives it.
  if (static_cast<std::int64_t>(size) + 64 > s.block_bytes) {
    throw core::InfraError(
        core::FailureClass::kFatal,
        "archive: offset " + std::to_string(r.offset) + " of partition " +
            std::to_string(s.partition) + " is a record of " + std::to_string(size) +
            " bytes (encoded), larger than the archive's Avro block of " +
            std::to_string(s.block_bytes / 1024) +
            " KiB: raise MILLRACE_ARCHIVE_MAX_RECORD_KB above the topic's largest record (its "
            "max.message.bytes); nothing past the last commit is recorded");
  }
  if (avro_file_writer_append_encoded(s.writer, encoded.data(), static_cast<std::int64_t>(size)) !=
      0) {
    fail_avro("writing offset " + std::to_string(r.offset) + " to " + s.staged);
  }
  if (s.records == 0) s.first = r.offset;
  s.last = r.offset;
  if (s.min_time < 0 || r.timestamp_ms < s.min_time) s.min_time = r.timestamp_ms;
  s.max_time = std::max(s.max_time, r.timestamp_ms);
  ++s.records;
  s.encoded += static_cast<std::int64_t>(size);
}

std::int64_t CaptureFileWriter::bytes() const {
  return state_->written + state_->encoded;
}

std::int64_t CaptureFileWriter::records() const {
  return state_->records;
}

WrittenFile CaptureFileWriter::finish() {
  State& s = *state_;
  if (s.finished) throw std::logic_error("finish twice");
  const int closed = avro_file_writer_close(s.writer);
  s.writer = nullptr;
  if (closed != 0) fail_avro("closing " + s.staged);
  if (std::fflush(s.fp) != 0) fail_errno("writing " + s.staged);
  if (std::fclose(s.fp) != 0) {
    s.fp = nullptr;
    fail_errno("writing " + s.staged);
  }
  s.fp = nullptr;
  if (s.destination.durable_staging() && ::fsync(s.fd) != 0) fail_errno("fsync of " + s.staged);
  ::close(s.fd);
  s.fd = -1;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(s.sha, digest, &length) != 1) fail("SHA-256 failed");
  std::string hex = detail::to_hex(digest, length);
  s.destination.sync_staged(s.name);
  s.finished = true;
  WrittenFile out;
  out.staged = s.name;
  out.partition = s.partition;
  out.first_offset = s.first;
  out.last_offset = s.last;
  out.records = s.records;
  out.bytes = s.written;
  out.sha256 = std::move(hex);
  out.min_time_ms = s.min_time;
  out.max_time_ms = s.max_time;
  s.release();
  return out;
}

}  // namespace millrace::archive
