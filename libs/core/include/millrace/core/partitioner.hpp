#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "millrace/core/event_type.hpp"

namespace millrace::core {

// The one partitioning rule of Millrace. With P partitions (P even, >= 2),
// inventory events go to even partitions and sale events to odd ones; within
// its parity an event is placed by a stable hash of store_id, so one store's
// events of one type stay in one partition, in order.
// Throws std::invalid_argument if partition_count is odd or < 2.
std::int32_t partition_for(EventType type, std::int32_t store_id, std::int32_t partition_count);

// Checks a topic's partition count (from broker metadata) before producing
// with partition_for; throws core::InfraError (fatal) naming the topic when it
// is odd or below 2, so a producer stops at start with a clear message.
void require_even_partitions(std::string_view topic, std::int32_t partition_count);

// The stable hash behind it: 64-bit FNV-1a over the little-endian bytes of
// store_id. Exposed so its values can be pinned by tests and reimplemented by
// producers in other languages.
std::uint64_t store_hash(std::int32_t store_id);

// For messages that carry no usable type or store (garbage on purpose, from
// the generator or a file): any partition, chosen by FNV-1a of the bytes.
std::int32_t partition_for_bytes(const void* data, std::size_t size, std::int32_t partition_count);

}  // namespace millrace::core
