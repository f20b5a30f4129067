#pragma once

// `millrace archive replay`: archived records produced again into a topic,
// each to its original partition with its original key, headers and value,
// plus headers naming its source. Idempotent per target topic: records the
// target already holds (by those headers) are not produced again, so a
// rerun, or a run after a crash, completes what is missing and duplicates
// nothing. One replay into a target at a time.

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "millrace/archive/index.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/objstore/store.hpp"

namespace millrace::archive {

// The headers every replayed record carries besides its own.
inline constexpr const char* kReplayTopicHeader = "millrace.replay.topic";
inline constexpr const char* kReplayPartitionHeader = "millrace.replay.partition";
inline constexpr const char* kReplayOffsetHeader = "millrace.replay.offset";
inline constexpr const char* kReplayFileHeader = "millrace.replay.file";  // its path in the archive

struct ReplayRequest {
  kafka::KafkaClientOptions kafka;         // brokers, client id, extra properties
  objstore::ObjectStore* store = nullptr;  // the archive
  // Where files of a remote store are downloaded to before they are read
  // (a directory of its own is made there, and removed at the end).
  std::string download_dir;
  std::string source_topic;  // the archived topic
  std::string target_topic;  // must exist, with the source's partitions
  // Records with timestamps in [from_ms, to_ms), of the files given.
  std::optional<std::int64_t> from_ms;
  std::optional<std::int64_t> to_ms;
};

struct ReplayProgress {
  std::uint64_t total = 0;    // records in range in the files
  std::uint64_t skipped = 0;  // already in the target
  std::uint64_t sent = 0;
  std::uint64_t delivered = 0;
  std::uint64_t failed = 0;
};

struct ReplaySummary {
  std::size_t files = 0;
  ReplayProgress progress;
  std::string first_error;  // of a failed delivery
};

// Replays `files` (archive_files rows, as load_files returns them). Every
// file's SHA-256 is checked first (a remote store's files as they are
// downloaded): a file that does not match its row stops the replay before
// anything is produced. Throws std::runtime_error (a
// file) or core::InfraError (Kafka) saying what; failed deliveries are
// counted in the summary instead. `stop` ends it early; what was sent is
// still delivered and counted.
ReplaySummary replay(const ReplayRequest& request, const std::vector<ArchivedFile>& files,
                     const std::function<void(const ReplayProgress&)>& progress,
                     const std::atomic<bool>& stop);

}  // namespace millrace::archive
