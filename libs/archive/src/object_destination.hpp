#pragma once

// The archive in object storage (S3, Azure Blob): a file is written to a
// local spool, uploaded under ".staging/" in the bucket or container before
// its commit (the store acknowledges it with its checksum), recorded, and
// after the commit copied into its place in Capture's layout inside the
// store, then its staged object deleted. docs/archive.md, "Object storage",
// tells why each step is where it is.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "millrace/archive/writer.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/objstore/store.hpp"
#include "millrace/runtime/health.hpp"

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

// Thread-safe: the loop thread uploads a file whose size window filled
// while the commit thread uploads, records and publishes the batch before;
// each operation takes a store of its own from a pool (a store serves one
// thread at a time), opened with `open` when none is free.
class ObjectDestination final : public Destination {
 public:
  using Open = std::function<std::unique_ptr<objstore::ObjectStore>()>;
  // Local files go to `spool`/`writer_id`/; `health` (may be null) hears of
  // every answer.
  ObjectDestination(Open open, std::string spool, std::string writer_id, StoreHealth* health);

  std::string staging_path(const std::string& name) override;
  // Uploads the file under ".staging/", then removes the local copy (also
  // when the upload failed: the batch is written again from Kafka).
  void sync_staged(const std::string& name) override;
  Published publish(const std::string& name, const std::string& relative) override;
  // Staged objects and unfinished uploads under ".staging/`dir`/".
  std::vector<std::string> staged_in(const std::string& dir) override;
  // The staged object, any unfinished upload of it, and the local copy.
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

  Open open_;
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<objstore::ObjectStore>> pool_;
  std::string spool_;
  StoreHealth* health_;
};

// The key of staged file `name` in the store.
std::string staging_key(const std::string& name);

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
