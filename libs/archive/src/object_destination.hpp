#pragma once

// The archive in object storage (S3, Azure Blob): a file is written to a
// local spool and uploaded once, in parts uploaded in parallel, as an
// unfinished upload under its place in Capture's layout (an S3 multipart
// upload, or an Azure blob's uncommitted blocks), which a small marker
// object under ".staging/" names. The upload begins as the file opens, and
// its parts go up as they are written; the last goes before the commit
// that records the file; and after the commit the upload is completed,
// which makes the object appear, and the marker deleted. docs/archive.md,
// "Object storage", tells why each step is where it is and what a crash
// between any two leaves.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "millrace/archive/writer.hpp"
#include "millrace/core/task_queue.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/objstore/store.hpp"
#include "millrace/runtime/health.hpp"
#include "parallel.hpp"

namespace millrace::archive::detail {

// What the store's last answers say, for /readyz's check "archive_store"
// and the metrics millrace_archive_store_errors_total{kind} and
// millrace_archive_store_failing_seconds: every operation of the
// archiver's destinations reports here, and when none did for a while, the
// check asks the store itself.
class StoreHealth {
 public:
  // `own`: a store of its own (a store is used by one thread at a time);
  // `registry` may be null (no metrics).
  StoreHealth(std::unique_ptr<objstore::ObjectStore> own, std::chrono::seconds idle,
              metrics::Registry* registry);

  void succeeded();
  void failed(objstore::ErrorKind kind, std::string explained);
  // For runtime::Health::poll.
  std::optional<runtime::Problem> problem();

 private:
  using Clock = std::chrono::steady_clock;
  std::unique_ptr<objstore::ObjectStore> own_;
  const std::chrono::seconds idle_;
  std::mutex mutex_;
  metrics::Registry* registry_;
  std::optional<std::string> error_;
  Clock::time_point last_{};
  std::optional<Clock::time_point> failing_since_;
};

// Thread-safe: the commit thread uploads, records and publishes a batch's
// files while the empty windows' thread does its own; each operation takes
// a store of its own from a pool (a store serves one thread at a time),
// opened with `open` when none is free.
class ObjectDestination final : public Destination {
 public:
  using Open = std::function<std::unique_ptr<objstore::ObjectStore>()>;
  // Local files go to `spool`/`writer_id`/; `parallel` parts (of one file
  // or of several) are uploaded at a time; `health` (may be null) hears of
  // every answer.
  ObjectDestination(Open open, std::string spool, std::string writer_id, std::size_t parallel,
                    StoreHealth* health);

  std::string staging_path(const std::string& name) override;
  // A spool copy: not fsynced (Destination::durable_staging()).
  bool durable_staging() const override { return false; }
  // Nothing: the file stays in the spool until prepare() uploads the rest.
  void sync_staged(const std::string& name) override;
  // On the upload threads (`parallel` of them), in this order: the marker
  // written, the upload begun under `relative`, the marker written again
  // with its id; then each part as soon as grew() says it is written
  // (parts sized for `max_bytes`). Throws (a retryable I/O failure of the
  // batch) only when the spool copy cannot be read.
  void opened(const std::string& name, const std::string& relative,
              std::int64_t max_bytes) override;
  void grew(const std::string& name, std::int64_t bytes) override;
  // What is written and not yet sent goes as a part of its own when it is
  // a quarter of a part at least (and what the store takes: S3's 5 MiB),
  // while the store's limit on parts leaves room for one more part than
  // the file was sized for, up to 8 such parts a file.
  void caught_up(const std::string& name) override;
  // The parts sent or being sent are waited for on an upload thread, then
  // the upload aborted and the marker deleted.
  void abandoned(const std::string& name) noexcept override;
  std::vector<std::string> left_staged() override;
  // For a file opened(): waits for its upload's begin and parts, and sends
  // its last part. For any other: begins an upload under its place after
  // writing its marker, then uploads its parts. Then removes the local
  // copies (also when an upload failed: the batch is written again from
  // Kafka; what it began is aborted, or left to the cleanup that follows a
  // commit).
  void prepare(const Placed& files) override;
  // Completes the upload the marker names, then deletes the marker. A
  // marker of an earlier version (the file's bytes, to be copied into place)
  // is published as that version did.
  Published publish(const std::string& name, const std::string& relative) override;
  // publish() of every file at once, up to the parts' parallelism: a
  // completion is a round trip, and a window has a file per partition.
  std::vector<Outcome> publish_each(const Placed& files) override;
  // Markers (and earlier versions' staged objects) and local copies under
  // ".staging/`dir`/".
  std::vector<std::string> staged_in(const std::string& dir) override;
  // Every directory's listing at once: a listing is a round trip.
  std::vector<std::vector<std::string>> staged_in_each(
      const std::vector<std::string>& dirs) override;
  // The upload the marker names (aborted), the marker, any unfinished
  // upload of an earlier version's staged object, and the local copy.
  void remove_staged(const std::string& name) override;

  // A store of the pool, for one operation.
  class Lease {
   public:
    explicit Lease(ObjectDestination& owner);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    objstore::ObjectStore& operator*() const { return *store_; }
    objstore::ObjectStore* operator->() const { return store_.get(); }

   private:
    ObjectDestination& owner_;
    std::unique_ptr<objstore::ObjectStore> store_;
  };

 private:
  // Runs op(store) on a leased store; a StoreError is reported to health
  // and rethrown with its explanation.
  template <typename F>
  auto reported(F&& op) -> decltype(op(std::declval<objstore::ObjectStore&>()));
  std::string local(const std::string& name) const;

  // An upload prepare() began and uploaded, until publish() completes it.
  struct Prepared {
    objstore::Unfinished upload;
    std::vector<std::string> parts;
  };
  std::optional<Prepared> take_prepared(const std::string& name);
  std::string next_tag();

  // A file opened(), its upload begun and its parts sent while it is
  // written, until prepare() (or abandoned(), or remove_staged()) takes it.
  struct Streaming;
  std::shared_ptr<Streaming> take_streaming(const std::string& name);
  // Whether `s`'s upload is begun (its part size known); under
  // streaming_mutex_.
  static bool begun(Streaming& s);
  // Sends `s`'s next `length` bytes as its next part; under
  // streaming_mutex_.
  void send_part(Streaming& s, std::int64_t length);
  // Waits for what `s` sent; then aborts its upload and deletes the marker.
  void drop(const std::string& name, Streaming& s);

  Open open_;
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<objstore::ObjectStore>> pool_;
  std::string spool_;
  StoreHealth* health_;
  Parallel parallel_;
  std::mutex prepared_mutex_;
  std::map<std::string, Prepared> prepared_;
  std::uint64_t tags_;  // Azure's blocks' tags: a random start, then counted
  std::mutex streaming_mutex_;
  std::map<std::string, std::shared_ptr<Streaming>> streaming_;
  // The files given up that left something staged (left_staged()).
  std::mutex left_mutex_;
  std::vector<std::string> left_;
  void left(const std::string& name) noexcept;
  // Last: destroyed first, so that no upload runs once the rest goes.
  core::TaskQueue uploads_;
};

// What a marker under ".staging/" says of its file's upload: its place,
// the tag it was begun with, and its id. Written twice: before the upload
// is begun (no id yet), so that no upload ever exists that no marker names,
// and once it is begun.
struct UploadMarker {
  std::string key;
  std::string tag;
  std::string id;  // empty: begun, perhaps, but not yet named
  objstore::Unfinished upload() const { return {key, id}; }
};
// "millrace-upload", then the key, the tag and the id, a line each.
std::string marker_text(const UploadMarker& marker);
// nullopt for a text that is not a marker (an earlier version's staged
// file).
std::optional<UploadMarker> parse_marker(const std::string& text);

// The key of staged file `name` in the store.
std::string staging_key(const std::string& name);
// Writes `marker` as the object `key`, through the local file `local`
// (removed after).
void put_marker(objstore::ObjectStore& store, const std::string& key, const std::string& local,
                const UploadMarker& marker);

// This process's spool directory, `spool`/`writer_id`, held for as long as
// the object lives by a lock (flock) on `spool`/`writer_id`.lock, taken
// before the directory is made. Making one removes the directories of the
// archivers that are gone: those whose lock it can take (a pid would not
// do: in a container every restart is pid 1). Throws core::InfraError
// (fatal) when the spool cannot be written.
class SpoolDir {
 public:
  SpoolDir(const std::string& spool, const std::string& writer_id);
  ~SpoolDir();
  SpoolDir(const SpoolDir&) = delete;
  SpoolDir& operator=(const SpoolDir&) = delete;

 private:
  int lock_fd_ = -1;
};

}  // namespace millrace::archive::detail
