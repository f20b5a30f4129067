#pragma once

// Capture files: an Avro object container file of Capture records, staged
// and made durable (fsync of the file and of its directory) by a
// CaptureFileWriter, then moved to its place by a Destination once it is
// recorded.
//
// Caller contract: a CaptureFileWriter is used by one thread; append() and
// finish() throw std::runtime_error on an I/O or encoding failure, after
// which the writer is unusable (its staged file is removed when it is
// destroyed).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "millrace/archive/capture.hpp"

namespace millrace::archive {

// Where files go. A file is written to a staging area first, and moved to
// its place in the layout only after PostgreSQL recorded it (publish()). The
// staging area must be reachable by every member of the archiver's group: a
// member that takes over a partition publishes what its previous owner
// recorded but could not move before it died.
//
// A directory tree (local, NFS, or an object-store bucket mounted with a FUSE
// driver), or an object store (ObjectDestination: the file's bytes are
// uploaded once, under its place, and publishing completes the upload).
class Destination {
 public:
  virtual ~Destination() = default;
  // A local path to write the staged file `name` (relative to the staging
  // area: "{topic}/{partition}/{name}"); its directory exists.
  virtual std::string staging_path(const std::string& name) = 0;
  // Whether a finished staged file must outlive a crash (is fsynced): a
  // directory's is the archive's file itself. An object store's is a spool
  // copy, uploaded before the commit that records it, and a crash before
  // that commit reads the window again from Kafka: not fsynced, its pages
  // need never reach the disk (they go with the file, once uploaded).
  virtual bool durable_staging() const { return true; }
  // Makes a written staged file's name durable (the file fsynced when
  // durable_staging()).
  virtual void sync_staged(const std::string& name) = 0;
  // Staged file `name`, just created, will be placed at `relative` (if its
  // commit records it there) and holds up to about `max_bytes`: an object
  // store begins its upload there now, and sends its bytes as they are
  // written (grew()), so that prepare() has only the file's last part left
  // to send. Optional: prepare() does everything for a file never opened().
  // A directory has nothing to do.
  virtual void opened(const std::string& name, const std::string& relative,
                      std::int64_t max_bytes) {
    (void)name, (void)relative, (void)max_bytes;
  }
  // The first `bytes` of staged file `name` are written to its local path
  // (staging_path()) and will not change.
  virtual void grew(const std::string& name, std::int64_t bytes) { (void)name, (void)bytes; }
  // The loop has read all there is for now, and staged file `name` is
  // still open: an object store sends what grew() said is written, though
  // short of a part, where the store takes it as one (on S3 a part but the
  // last is 5 MiB at least), so that little of the file is left for the
  // window's end. Must not block.
  virtual void caught_up(const std::string& name) { (void)name; }
  // Staged file `name` will never be prepared (its writer was destroyed
  // before it finished, or its batch dropped before its commit): what
  // opened() began goes, and its local file. Never throws; what it cannot
  // undo now, the cleanup after a later commit does (as after a crash).
  virtual void abandoned(const std::string& name) noexcept { (void)name; }
  // The files given up since the last call that left something staged
  // which only that cleanup's listing finds (undoing it failed, or its
  // upload's begin failed before the marker named it): the next commit of
  // each one's partition lists the staging. Said once: the call clears it.
  virtual std::vector<std::string> left_staged() { return {}; }
  // Readies finished staged files for publish() at their places, before the
  // commit that records them: each pair is a staged name and its place. A
  // directory has nothing to do (the file is staged on the root's
  // filesystem); an object store uploads each file under its place as an
  // upload that nothing shows until publish() completes it.
  using Placed = std::vector<std::pair<std::string, std::string>>;
  virtual void prepare(const Placed& files) = 0;
  // Moves staged `name` to `relative` under the root, durably, replacing any
  // file there. Idempotent: kAlready when `name` is gone and `relative`
  // exists; kMissing when neither exists (the file is lost). Throws
  // std::runtime_error on an I/O failure.
  enum class Published { kMoved, kAlready, kMissing };
  virtual Published publish(const std::string& name, const std::string& relative) = 0;
  // publish() of each file, as many at a time as the destination takes. A
  // file's failure is its own entry's (`failed`: what publish() threw), not
  // the others'.
  struct Outcome {
    Published published = Published::kMissing;
    std::optional<std::string> failed;
  };
  virtual std::vector<Outcome> publish_each(const Placed& files);
  // Names of the staged files in `dir` (relative to the staging area),
  // prefixed with it; none if it does not exist.
  virtual std::vector<std::string> staged_in(const std::string& dir) = 0;
  // staged_in() of each directory, as many at a time as the destination
  // takes.
  virtual std::vector<std::vector<std::string>> staged_in_each(
      const std::vector<std::string>& dirs);
  // Removes a staged file, if it exists.
  virtual void remove_staged(const std::string& name) = 0;
};

// A directory tree. Staged files live in "{root}/.staging", on the root's
// filesystem, so that publishing is one atomic rename.
class DirectoryDestination final : public Destination {
 public:
  explicit DirectoryDestination(std::string root);
  std::string staging_path(const std::string& name) override;
  void sync_staged(const std::string& name) override;
  void prepare(const Placed&) override {}
  Published publish(const std::string& name, const std::string& relative) override;
  std::vector<std::string> staged_in(const std::string& dir) override;
  void remove_staged(const std::string& name) override;
  const std::string& root() const { return root_; }

 private:
  std::string root_;
  std::string staging_;
};

// What a finished file holds.
struct WrittenFile {
  std::string staged;  // its name in the staging area
  std::int32_t partition = 0;
  std::int64_t first_offset = -1;
  std::int64_t last_offset = -1;
  std::int64_t records = 0;
  std::int64_t bytes = 0;  // the file's size
  std::string sha256;      // of the file's bytes, lowercase hex
  // The records' oldest and newest timestamps (ms since the epoch; -1: none).
  std::int64_t min_time_ms = -1;
  std::int64_t max_time_ms = -1;
};

class CaptureFileWriter {
 public:
  // Stages a new file as `staged` at once (the Avro header is written),
  // replacing a leftover of that name. A record larger than `block_bytes`
  // encoded cannot be appended (RollPolicy::block_bytes).
  CaptureFileWriter(Destination& destination, std::string staged, std::int32_t partition,
                    std::int64_t block_bytes = RollPolicy{}.block_bytes);
  ~CaptureFileWriter();
  CaptureFileWriter(const CaptureFileWriter&) = delete;
  CaptureFileWriter& operator=(const CaptureFileWriter&) = delete;

  // Offsets must grow. A record too large for a block throws
  // core::InfraError (fatal), naming its size and the setting to raise.
  void append(const CaptureRecord& record);
  // The same for a record whose fields are borrowed (the archiver's, from
  // the Kafka message).
  void append_view(const CaptureRecordView& record);
  // Bytes so far, the records' encoded size included (what a size window
  // judges by).
  std::int64_t bytes() const;
  std::int64_t records() const;
  // Closes the file and makes it durable where it is staged. A writer
  // destroyed before this removes its staged file; after it, the file is the
  // caller's.
  WrittenFile finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace millrace::archive
