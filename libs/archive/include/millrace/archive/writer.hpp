#pragma once

// Capture files: an Avro object container file of Capture records, written
// under a temporary name, made durable (fsync), then moved to its place
// (rename, and an fsync of its directory) by a Destination.
//
// Caller contract: a CaptureFileWriter is used by one thread; append() and
// finish() throw std::runtime_error on an I/O or encoding failure, after
// which the writer is unusable (its staged file is removed when it is
// destroyed).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "millrace/archive/capture.hpp"

namespace millrace::archive {

// Where files go. Files are staged in a local path and then published: a
// directory tree (local, NFS, or an object-store bucket mounted with a FUSE
// driver) today; a native object-store destination would stage locally and
// upload in publish().
class Destination {
 public:
  virtual ~Destination() = default;
  // A local path to write the file that will be `relative`; its directory
  // exists. A file left there by a writer that never finished is replaced.
  virtual std::string staging_path(const std::string& relative) = 0;
  // Makes the staged file durable as `relative`, replacing any file there
  // (one written before a crash and never committed). Throws
  // std::runtime_error.
  virtual void publish(const std::string& staged, const std::string& relative) = 0;
};

// A directory tree: staged as "<name>.avro.tmp" beside the final name; the
// final rename is atomic on one filesystem.
class DirectoryDestination final : public Destination {
 public:
  explicit DirectoryDestination(std::string root);
  std::string staging_path(const std::string& relative) override;
  void publish(const std::string& staged, const std::string& relative) override;
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

// What a finished file holds.
struct WrittenFile {
  std::string path;  // relative to the destination's root
  std::int32_t partition = 0;
  std::int64_t first_offset = -1;
  std::int64_t last_offset = -1;
  std::int64_t records = 0;
  std::int64_t bytes = 0;  // the file's size
  std::string sha256;      // of the file's bytes, lowercase hex
};

class CaptureFileWriter {
 public:
  // Stages a new file for `relative` at once (the Avro header is written).
  CaptureFileWriter(Destination& destination, std::string relative, std::int32_t partition);
  ~CaptureFileWriter();
  CaptureFileWriter(const CaptureFileWriter&) = delete;
  CaptureFileWriter& operator=(const CaptureFileWriter&) = delete;

  // Offsets must grow.
  void append(const CaptureRecord& record);
  // Bytes so far, the records' encoded size included (what a size window
  // judges by).
  std::int64_t bytes() const;
  std::int64_t records() const;
  // Closes, fsyncs and publishes the file.
  WrittenFile finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace millrace::archive
