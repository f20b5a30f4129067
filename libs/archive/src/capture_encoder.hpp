#pragma once

// One Capture record in Avro's binary encoding, written straight from the
// record's fields into one buffer kept from record to record: what Avro C's
// generic value would write for it (a record's fields in the schema's
// order, each map one block), without building that value first, whose
// field lookups, map entries and copies cost the archiver about as much as
// the rest of its encoding (docs/benchmarks.md, issue 82).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/archive/capture.hpp"

namespace millrace::archive::detail {

class CaptureEncoder {
 public:
  // The record's encoding; valid until the next call.
  std::string_view encode(const CaptureRecordView& record);

 private:
  // Where the record is encoded: as much room as the largest record so far
  // took at most, kept from one to the next.
  std::vector<char> room_;
  // EnqueuedTimeUtc's text for the second `time_second_` (the records of a
  // window share a few seconds): only its milliseconds change.
  std::optional<std::int64_t> time_second_;
  std::string time_text_;
  // The headers as Avro C's map holds them: a name once, at its first
  // place, with its last value.
  std::vector<std::pair<std::string_view, std::string_view>> properties_;
};

}  // namespace millrace::archive::detail
