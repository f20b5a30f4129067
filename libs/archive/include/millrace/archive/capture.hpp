#pragma once

// Event Hubs Capture's format, as millrace-archiver writes it: the record
// schema (Avro, record Microsoft.ServiceBus.Messaging.EventData), the files'
// layout, and how a Kafka record maps onto a Capture record. Pure.
//
// Layout, under the archive's root:
//   {namespace}/{topic}/{partition}/{YYYY}/{MM}/{DD}/{HH}/{mm}/{ss}.avro
// where the time is the start of the file's window, in UTC.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace millrace::archive {

// The schema Capture writes (avro-tools getschema of a Capture file).
std::string_view capture_schema_json();

// One Kafka record as a Capture record.
//   SequenceNumber   the Kafka offset
//   Offset           the Kafka offset, as text (Capture's offset is a string)
//   EnqueuedTimeUtc  the record's timestamp, ISO 8601 UTC with 7 fractional
//                    digits ("2026-11-23T22:40:00.1230000Z"), as Capture's
//                    .NET writer prints it
//   SystemProperties x-opt-kafka-key (bytes, when the record has a key),
//                    x-opt-partition (long), x-opt-topic (string)
//   Properties       the Kafka headers, each a bytes value (a header with no
//                    value: empty bytes)
//   Body             the value as it was; null for a record without one
struct CaptureRecord {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = 0;
  std::optional<std::string> key;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> body;
};

// The same record's fields borrowed (from a Kafka message, or from a
// CaptureRecord), valid while what they point into is: what the writer
// encodes, so that the archiver copies a record's bytes only into the file.
struct CaptureRecordView {
  std::string_view topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = 0;
  std::optional<std::string_view> key;
  std::span<const std::pair<std::string_view, std::string_view>> headers;
  std::optional<std::string_view> body;
};

// `record`'s view, its headers' views put in `headers` (which must outlive
// the view, as `record` must).
CaptureRecordView view_of(const CaptureRecord& record,
                          std::vector<std::pair<std::string_view, std::string_view>>& headers);

// "2026-11-23T22:40:00.1230000Z".
std::string enqueued_time_utc(std::int64_t timestamp_ms);

// The file's path relative to the root, for a window starting at
// `window_start_ms` (UTC). Throws std::invalid_argument for a namespace or
// topic that is empty or would leave its directory ("..", a '/').
std::string capture_path(std::string_view ns, std::string_view topic, std::int32_t partition,
                         std::int64_t window_start_ms);

// When a file is closed: after its time window (from the window's start,
// aligned to multiples of the window since the epoch, as Capture's are) or
// once it holds this many bytes, whichever comes first.
struct RollPolicy {
  std::int64_t window_ms = 5 * 60 * 1000;
  std::int64_t max_bytes = 300LL * 1000 * 1000;
  // Avro's block size, which bounds the largest record a file takes: by
  // default above Kafka's default message.max.bytes (1 MiB and headers).
  std::int64_t block_bytes = 1088 * 1024;
};

// The start of the window `now_ms` falls in.
std::int64_t window_start(const RollPolicy& policy, std::int64_t now_ms);
// Whether a file opened for the window starting at `start_ms`, now holding
// `bytes`, must be closed at `now_ms`.
bool must_roll(const RollPolicy& policy, std::int64_t start_ms, std::int64_t bytes,
               std::int64_t now_ms);

// The time in a file's path (ms since the epoch, whole seconds). A
// partition's first file in a batch takes the start of the batch's window;
// a later one (a size window filled), or a first one whose window start an
// earlier file of the partition already took (a rebalance mid-window), takes
// the second it opened. Always after the partition's previous file
// (`previous_ms`), so no two files of a partition share a path.
std::int64_t file_time(std::int64_t window_start_ms, std::int64_t opened_ms, bool first_in_batch,
                       std::optional<std::int64_t> previous_ms);

}  // namespace millrace::archive
