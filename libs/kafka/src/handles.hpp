#pragma once

// The only place librdkafka's C handles are owned. Ownership quirks that bite:
// - rd_kafka_new() takes ownership of the rd_kafka_conf_t only on success; on
//   failure the conf is still ours, hence ConfPtr::release() after success.
// - rd_kafka_topic_partition_list_t given to the rebalance callback belongs to
//   librdkafka; lists we create must be destroyed by us (PartitionListPtr).
// - A consumer must be rd_kafka_consumer_close()d before rd_kafka_destroy(),
//   or it leaves the group only after the session timeout.
// - Every rd_kafka_message_t returned by poll must be destroyed, including
//   error events, or librdkafka's fetch buffers are never released.

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "millrace/kafka/types.hpp"

namespace millrace::kafka::detail {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* msg) const { rd_kafka_message_destroy(msg); }
};
struct ErrorDeleter {
  void operator()(rd_kafka_error_t* error) const { rd_kafka_error_destroy(error); }
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* md) const { rd_kafka_metadata_destroy(md); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* queue) const { rd_kafka_queue_destroy(queue); }
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* topic) const { rd_kafka_topic_destroy(topic); }
};

using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;
using MetadataPtr = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;

// Sets one property; throws core::InfraError(fatal) naming it when librdkafka
// refuses it (a configuration error must stop the process at start).
void set_property(rd_kafka_conf_t* conf, const std::string& key, const std::string& value);
void set_properties(rd_kafka_conf_t* conf, const Properties& properties);

PartitionListPtr to_list(const std::vector<TopicPartition>& partitions);
std::vector<TopicPartition> from_list(const rd_kafka_topic_partition_list_t* list);

// Low and high watermarks asked of the partition's leader; throws
// core::InfraError (retryable) on failure. Returns or throws within about
// twice `timeout`, also when the leader dies under it: librdkafka 2.0.2's
// rd_kafka_query_watermark_offsets then blocks until that broker comes back
// (librdkafka#2588, fixed in 2.3.0), and its cached leader is never
// refreshed, so this uses rd_kafka_offsets_for_times and refreshes the
// topic's metadata after a failure.
std::pair<std::int64_t, std::int64_t> query_watermarks(rd_kafka_t* rk, const std::string& topic,
                                                       std::int32_t partition,
                                                       std::chrono::milliseconds timeout);

// Each partition's end (the high watermark, or the last stable offset for a
// read_committed client) in one ListOffsets per leader. Throws
// core::InfraError (retryable) when any is not answered within `timeout`.
std::vector<TopicPartition> end_offsets(rd_kafka_t* rk, const std::string& topic,
                                        std::int32_t partitions, std::chrono::milliseconds timeout);

// A metadata request for `topic` alone, whose answer gives the client's
// partitions of it their leaders. Returns the topic's handle, which keeps
// those partitions (and so their leaders) for as long as it is held; a
// request that fails or goes unanswered within `timeout_ms` leaves them to
// librdkafka's own lookups. Null only if librdkafka refuses the handle.
TopicPtr learn_leaders(rd_kafka_t* rk, const std::string& topic, int timeout_ms);

// The topic's partition count from a metadata request for it alone. Throws
// core::InfraError: retryable when the brokers do not answer, fatal when
// the topic does not exist or cannot be used.
std::int32_t partition_count(rd_kafka_t* rk, const std::string& topic,
                             std::chrono::milliseconds timeout);

// librdkafka's log lines go to stderr in our format instead of its own.
void install_logger(rd_kafka_conf_t* conf);
// One librdkafka log line, as install_logger() writes it.
void log_line(const rd_kafka_t* rk, int level, const char* fac, const char* buf);

// The header list of one message, null for none (librdkafka then makes
// none: two allocations a record saved). The caller owns it until producev
// succeeds, and destroys it (when not null) if producev fails.
inline rd_kafka_headers_t* make_headers(std::span<const OutHeader> headers) {
  if (headers.empty()) return nullptr;
  rd_kafka_headers_t* hdrs = rd_kafka_headers_new(headers.size());
  for (const auto& h : headers) {
    rd_kafka_header_add(hdrs, h.key.data(), static_cast<ssize_t>(h.key.size()), h.value.data(),
                        static_cast<ssize_t>(h.value.size()));
  }
  return hdrs;
}

}  // namespace millrace::kafka::detail
