#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace millrace::kafka {

// Creates a topic; succeeds quietly if it already exists with this many
// partitions, throws core::InfraError(fatal) if it exists with another count
// or the broker refuses, (retryable) on timeout.
void create_topic(const std::string& brokers, const std::string& topic, std::int32_t partitions,
                  std::int16_t replication, std::chrono::milliseconds timeout);

}  // namespace millrace::kafka
