#pragma once

// Object storage as the archive uses it: the objects under one location's
// prefix in an S3 bucket, an Azure Blob container or a local directory,
// named by keys relative to that prefix ("ns/topic/0/2026/...avro").
//
// Caller contract: an ObjectStore is used by one thread at a time (each
// keeps one connection). Every operation either does all it says or throws
// StoreError; none retries by itself, so a caller that retries (the
// archiver's batch, with backoff) decides how often. Errors never carry a
// credential.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/core/enum_names.hpp"

namespace millrace::objstore {

struct StoreOptions;

// What went wrong, as a caller acts on it.
enum class ErrorKind : std::uint8_t {
  kNetwork,      // no answer: connection refused, reset, timed out
  kServer,       // the store answered 5xx, 408 or 429: try again later
  kCredentials,  // 401 or 403: the credentials, their permissions or the clock
  kNotFound,     // the object (or the bucket or container) does not exist
  kChecksum,     // the store's checksum of what it received is not ours
  kRefused,      // any other answer: a setting or a request the store refuses
};
// As metrics' `kind` label names them.
inline constexpr core::EnumNames<ErrorKind, 6> kErrorKindNames({{ErrorKind::kNetwork, "network"},
                                                                {ErrorKind::kServer, "server"},
                                                                {ErrorKind::kCredentials,
                                                                 "credentials"},
                                                                {ErrorKind::kNotFound, "not_found"},
                                                                {ErrorKind::kChecksum, "checksum"},
                                                                {ErrorKind::kRefused, "refused"}});

class StoreError : public std::runtime_error {
 public:
  StoreError(ErrorKind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

struct ObjectInfo {
  std::string key;  // relative to the location's prefix
  std::int64_t size = 0;
};

// An upload begun and never finished: an S3 multipart upload, or an Azure
// blob with only uncommitted blocks. They cost storage until aborted.
struct Unfinished {
  std::string key;
  std::string id;  // the S3 upload id; empty for Azure
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Where it writes, for messages: "s3://bucket/prefix at http://host:port".
  // Never a secret.
  virtual std::string describe() const = 0;

  // Uploads the local file at `path` as `key`, replacing any object there.
  // Returns once the store acknowledged every byte and its checksum
  // (Content-MD5 on a one-request upload, the ETag or echoed MD5 compared).
  // Files larger than the part size go up in parts (S3 multipart upload,
  // Azure blocks), each checked as upload_part() checks it; a failed part
  // upload is aborted before the throw.
  virtual void put_file(const std::string& key, const std::string& path) = 0;
  // The object's size; nullopt when there is none.
  virtual std::optional<std::int64_t> size_of(const std::string& key) = 0;
  // Streams the object's bytes to `sink`, in order. kNotFound when absent.
  virtual void read(const std::string& key, const std::function<void(std::string_view)>& sink) = 0;
  // Copies `from` to `to` inside the store (no bytes through this host),
  // replacing `to`. kNotFound when `from` is absent.
  virtual void copy(const std::string& from, const std::string& to) = 0;
  // Deletes the object; nothing when it is absent.
  virtual void remove(const std::string& key) = 0;
  // The objects whose keys start with `prefix`, in key order.
  virtual std::vector<ObjectInfo> list(const std::string& prefix) = 0;
  // The unfinished uploads whose keys start with `prefix`.
  virtual std::vector<Unfinished> unfinished(const std::string& prefix) = 0;
  // Aborts an unfinished upload (its parts or blocks are deleted); nothing
  // when it is already gone. An Azure upload begun by begin_upload (its id
  // set) is discarded only while every uncommitted block of the blob is its
  // own: another attempt's blocks under the same name are left, and go when
  // either is committed (Put Block List drops the blocks it does not name)
  // or after Azure's week for uncommitted blocks.
  virtual void abort(const Unfinished& upload) = 0;

  // Writing an object once, in parts, under its final key, and making it
  // appear later (docs/archive.md, "Object storage"): an S3 multipart
  // upload, or an Azure blob's uncommitted blocks. Nothing shows under
  // `key` until complete_upload().
  //
  // Begins one: S3's CreateMultipartUpload (the id is S3's upload id); on
  // Azure no request, and the id is `tag`, which names the blocks apart from
  // another attempt's at the same key (16 characters at most).
  virtual Unfinished begin_upload(const std::string& key, const std::string& tag) = 0;
  // The size of each part for an object of `size` bytes (the last shorter):
  // the part-size setting, larger when the store's limit on parts needs it.
  virtual std::int64_t part_size_for(std::int64_t size) const = 0;
  // The least size the store takes for a part that is not the last (S3:
  // 5 MiB).
  virtual std::int64_t min_part_size() const { return 1; }
  // Uploads part `n` (from 1) with a checksum the store checks and echoes,
  // compared with it: S3's CRC-32C (its Content-MD5 too when the store
  // does not echo the CRC), Azure's Content-MD5. Returns what
  // complete_upload() names it by (S3's ETag and CRC-32C, Azure's block
  // id). Parts may be uploaded in any order, each by another store of the
  // same location.
  virtual std::string upload_part(const Unfinished& upload, int n, std::string_view bytes) = 0;
  // Makes the object of `parts`, in order (what upload_part() returned).
  // kNotFound when the upload is gone (completed or aborted).
  virtual void complete_upload(const Unfinished& upload, const std::vector<std::string>& parts) = 0;
  // What upload_part() returned for each part the upload holds, by part
  // number; nullopt when the upload is gone. For a process that completes
  // an upload another one began.
  virtual std::optional<std::vector<std::string>> uploaded_parts(const Unfinished& upload) = 0;
  // One cheap request that needs the same permissions as the archive
  // (listing at most one key): throws what the store answered when the
  // location cannot be used.
  virtual void check() = 0;
  // Where the object is on this host's filesystem, for a directory; nullopt
  // for a remote store (read() it).
  virtual std::optional<std::string> local_path(const std::string&) const { return std::nullopt; }
};

// The store `options` name (validate()d). Throws core::UsageError when
// credentials the location needs are missing or cannot be read.
std::unique_ptr<ObjectStore> open_store(const StoreOptions& options);

// An error's text with a hint of what to do: for kCredentials, which
// credentials and permissions the location needs; for kNotFound, that the
// bucket or container must exist.
std::string explain(const StoreError& error, const ObjectStore& store);

}  // namespace millrace::objstore
