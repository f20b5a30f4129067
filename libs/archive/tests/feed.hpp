#pragma once

// One record through an archive handler, as the stream loop passes it: the
// tests' way to fill a batch without a broker.

#include <cstdint>
#include <string>
#include <utility>

#include "handler.hpp"
#include "millrace/kafka/consumer.hpp"
#include "millrace/stream/batch.hpp"

namespace millrace::archive::testing {

inline void feed(detail::ArchiveHandler& handler, stream::Batch& batch, stream::BatchState& state,
                 std::int32_t partition, std::int64_t offset, std::int64_t read_from,
                 std::int64_t now, std::string payload = "{}") {
  auto& progress = batch.add(partition, offset, now);
  if (progress.consumed == 1) progress.read_from = read_from;
  kafka::ConsumedRecord r;
  r.topic = "store-events";
  r.partition = partition;
  r.offset = offset;
  r.payload = std::move(payload);
  r.timestamp_ms = now;
  handler.handle(kafka::Message::from_record(std::move(r)), progress, state);
}

}  // namespace millrace::archive::testing
