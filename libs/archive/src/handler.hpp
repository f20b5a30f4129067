#pragma once

// millrace-archiver's part of the stream consumer: every record goes into
// its partition's Capture file; a batch is one time window, sealed at the
// window's end; each file is staged, recorded in archive_files in the
// transaction that moves the offsets past its records, and published after
// that commit. docs/archive.md tells why each step is where it is.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "millrace/archive/capture.hpp"
#include "millrace/archive/writer.hpp"
#include "millrace/stream/handler.hpp"
#include "staging.hpp"

namespace millrace::archive::detail {

class ArchiveProbe;

struct HandlerSettings {
  std::string group;
  std::string topic;
  std::string ns;         // the layout's {namespace}
  std::string root_name;  // the archive's URL, for messages
  RollPolicy policy;
  // Names this process's staged files apart from other members'.
  std::string writer_id;
  // Milliseconds since the epoch, UTC; a test sets its own.
  std::function<std::int64_t()> now_ms;
  // The steady clock the stream loop keeps (seal_in()'s `now`), read with
  // now_ms at a batch's first record; a test sets its own.
  std::function<std::chrono::steady_clock::time_point()> steady_now = [] {
    return std::chrono::steady_clock::now();
  };
};

class ArchiveHandler final : public stream::Handler, public stream::SealsBatches {
 public:
  ArchiveHandler(HandlerSettings settings, Destination& destination, ArchiveProbe* probe);

  // Reads the time of each partition's last recorded file, where
  // before_commit() places the next (a restart within a window places its
  // first file after the last one's, with no batch written twice).
  void on_connect(pqxx::connection& connection) override;
  std::unique_ptr<stream::BatchState> open_batch() override;
  // The window's end, on the steady clock, as it stood at the batch's
  // first record.
  std::optional<std::chrono::milliseconds> seal_in(
      const stream::BatchState& state, std::chrono::steady_clock::time_point now) const override;
  // Each open file's bytes written so far may go to the store now
  // (Destination::caught_up).
  void caught_up(stream::BatchState& state) override;
  void handle(const kafka::Message& message, stream::PartitionProgress& progress,
              stream::BatchState& state) override;
  // Finishes (fsyncs) every open file and readies each at its place in
  // the layout (chosen as it opened; Destination::prepare: an object store
  // uploads what is left of it, unfinished), before the transaction.
  void before_commit(stream::BatchState& state) override;
  // Publishes what earlier commits of the batch's partitions recorded but
  // did not move, checks the places against the partitions' last recorded
  // files (a retryable failure when another member archived since), then
  // records this batch's files.
  void write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) override;
  // Publishes this batch's files, then removes staged files no commit can
  // record any more, where another attempt may have left some (sweep()).
  void after_commit(const stream::Batch& batch, stream::BatchState& state) override;
  // Never called: a batch of files has no record PostgreSQL could refuse
  // on its own (size() is 0), so a refusal stops the service.
  void refuse(stream::Batch& batch, stream::BatchState& state,
              const std::vector<stream::Refusal>& refused) override;

 private:
  HandlerSettings settings_;
  Destination& destination_;
  ArchiveProbe* probe_;
  std::atomic<std::uint64_t> sequence_{0};
  // The headers of the record handle() is writing, on the loop's thread
  // only (their room kept from one record to the next).
  std::vector<std::pair<std::string_view, std::string_view>> headers_;

 public:
  // The time of the last file the loop placed for a partition, and the
  // offset after its last record so far (-1 while it has none): a file
  // that opens there follows it.
  struct LastPlaced {
    std::int64_t time = 0;
    std::int64_t next = -1;
  };

 private:
  // On the loop's thread only.
  std::map<std::int32_t, LastPlaced> last_placed_;
  // The time of the last file this member recorded for each partition, or
  // found recorded: where before_commit() places the next.
  std::mutex last_mutex_;
  std::map<std::int32_t, std::int64_t> last_time_;
  // Files after_commit() published whose rows still say they are not (the
  // next commit of their partition marks them): guarded by last_mutex_.
  std::set<std::string> published_;
  // Whether `path` is one of them; it is no longer.
  bool take_published(const std::string& path);

  // What after_commit() lists of the staging, and removes.
  StagingSweep sweep_;
};

}  // namespace millrace::archive::detail
