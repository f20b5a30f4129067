#pragma once

// Reading Capture files back (Avro C), for `millrace archive replay` and
// the aggregator's fills of declared views (records past Kafka's retention).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "millrace/archive/capture.hpp"
#include "millrace/archive/index.hpp"
#include "millrace/objstore/store.hpp"

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

// Calls `on_record` with each record of `files` (archive_files rows of
// `topic`, as load_files returns them), file after file in the order given
// and each in file order, a file's SHA-256 checked against its row before
// any of its records is given. A file recorded but not published yet is
// read where it is staged (.staging/), or where it was moved meanwhile; in
// a bucket, where its upload's marker is staged, in its place once the
// upload is completed, and until then an objstore::StoreError (kNotFound)
// says to read it again later. A
// remote store's file is downloaded under
// `download_dir` (empty: the temporary directory) and removed once read.
// Throws std::runtime_error naming the file (unreadable, not what its row
// says, or holding a record of another topic or partition than its row's),
// or what the store throws (objstore::StoreError).
void read_archived(objstore::ObjectStore& store, const std::string& download_dir,
                   const std::string& topic, const std::vector<ArchivedFile>& files,
                   const std::function<void(CaptureRecord&&)>& on_record);

}  // namespace millrace::archive
