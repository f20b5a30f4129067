#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "millrace/kafka/types.hpp"

namespace millrace::kafka {

// Creates a topic; succeeds quietly if it already exists with this many
// partitions, throws core::InfraError(fatal) if it exists with another count
// or the broker refuses, (retryable) on timeout. `extra` holds client
// settings such as security.protocol and sasl.* for a secured cluster.
void create_topic(const std::string& brokers, const std::string& topic, std::int32_t partitions,
                  std::int16_t replication, std::chrono::milliseconds timeout,
                  const Properties& extra = {});

// create_topic for a deployment's init step, which may start before the
// broker answers: retryable failures are tried again every second until
// `deadline`, then rethrown; fatal ones (another partition count, more
// replicas than brokers) are thrown at once.
void ensure_topic(const std::string& brokers, const std::string& topic, std::int32_t partitions,
                  std::int16_t replication, std::chrono::steady_clock::time_point deadline,
                  const Properties& extra = {});

// Deletes the topics that exist of `topics` (a missing one is not an error)
// and waits up to `timeout` for the broker's answer. Throws
// core::InfraError(retryable) on timeout or a refusal.
void delete_topics(const std::string& brokers, const std::vector<std::string>& topics,
                   std::chrono::milliseconds timeout, const Properties& extra = {});

// The offsets `group` last committed to Kafka for partitions 0..partitions-1
// of `topic` (kOffsetInvalid where it committed none): what lag tools such as
// kafka-consumer-groups.sh show. Millrace's workers keep their position in
// PostgreSQL and commit it to Kafka only for those tools. Does not join the
// group. Throws core::InfraError(retryable) on failure.
std::map<std::int32_t, std::int64_t> committed_offsets(const std::string& brokers,
                                                       const std::string& group,
                                                       const std::string& topic,
                                                       std::int32_t partitions,
                                                       std::chrono::milliseconds timeout);

// One partition's committed offset with the metadata string committed with
// it (a producer can commit both inside its transaction: see
// TransactionalProducer::commit_offset).
struct CommittedOffset {
  std::int64_t offset = kOffsetInvalid;
  std::string metadata;
};
// What `group` committed for `topic`[`partition`], nullopt if nothing. Asks
// as a read_committed client, so an offset a transaction still holds open is
// waited for (up to `timeout`) rather than read half-done. Does not join the
// group. Throws core::InfraError(retryable) on failure, and runtime::Stopped
// within about half a second once `stopping` (the owner's stop, if given)
// returns true.
std::optional<CommittedOffset> committed_offset(const std::string& brokers, const Properties& extra,
                                                const std::string& group, const std::string& topic,
                                                std::int32_t partition,
                                                std::chrono::milliseconds timeout,
                                                const std::function<bool()>& stopping = {});

// A client handle for broker queries that must not share a consumer's queues
// (rd_kafka_query_watermark_offsets on a consumer handle waits on the queue
// its own poll loop serves, so it times out when called from that loop).
class OffsetsClient {
 public:
  OffsetsClient(const std::string& brokers, const Properties& extra);
  ~OffsetsClient();
  OffsetsClient(const OffsetsClient&) = delete;
  OffsetsClient& operator=(const OffsetsClient&) = delete;

  // Low and high watermarks; throws core::InfraError(retryable) on failure.
  std::pair<std::int64_t, std::int64_t> watermarks(const std::string& topic, std::int32_t partition,
                                                   std::chrono::milliseconds timeout);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace millrace::kafka
