#pragma once

// Reading Capture files back (Avro C), for `millrace archive replay`.

#include <cstdint>
#include <functional>
#include <string>

#include "millrace/archive/capture.hpp"

namespace millrace::archive {

// Milliseconds since the epoch of an EnqueuedTimeUtc ("2026-11-23T22:40:00.1230000Z",
// any number of fractional digits, or none). Throws std::invalid_argument.
std::int64_t parse_enqueued_time(const std::string& text);

// Calls `on_record` with each record of the Capture file at `path`, in file
// order. The Kafka record is rebuilt from Capture's fields: offset from
// SequenceNumber, timestamp from EnqueuedTimeUtc, key from x-opt-kafka-key,
// partition and topic from x-opt-partition and x-opt-topic, headers from
// Properties (a long, double or string value as its text), value from Body.
// Throws std::runtime_error naming the file on an unreadable file or a
// record that is not Capture's.
void read_capture_file(const std::string& path,
                       const std::function<void(CaptureRecord&&)>& on_record);

}  // namespace millrace::archive
