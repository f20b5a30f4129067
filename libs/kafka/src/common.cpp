#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string_view>

#include "handles.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/core/property_list.hpp"
#include "millrace/core/secrets.hpp"
#include "millrace/core/values.hpp"
#include "millrace/runtime/log.hpp"

namespace millrace::kafka {

Properties parse_properties(std::string_view text) {
  Properties out;
  for (auto& [key, value] : core::parse_property_list(text)) out[key] = std::move(value);
  return out;
}

void refuse_consumer_overrides(const Properties& properties) {
  // auto.commit.enable is librdkafka's older (topic-level) name of
  // enable.auto.commit.
  static constexpr std::string_view kManaged[] = {
      "auto.offset.reset",  "partition.assignment.strategy", "enable.auto.commit",
      "auto.commit.enable", "enable.auto.offset.store",      "group.id"};
  for (const auto& [key, value] : properties) {
    for (const auto managed : kManaged) {
      if (key == managed) {
        throw std::invalid_argument(
            key +
            " cannot be overridden: Millrace sets it (see docs/exactly-once.md, "
            "\"Offsets and gaps\")");
      }
    }
  }
}

namespace detail {

void set_property(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    // librdkafka's message may quote the value: a secret one is scrubbed.
    if (core::names_secret(key)) {
      throw core::InfraError(
          core::FailureClass::kFatal,
          "kafka property " + key + " (value not shown): " + core::scrub(err, value));
    }
    throw core::InfraError(core::FailureClass::kFatal,
                           "kafka property " + key + "=" + value + ": " + err);
  }
}

void set_properties(rd_kafka_conf_t* conf, const Properties& properties) {
  for (const auto& [key, value] : properties) set_property(conf, key, value);
}

PartitionListPtr to_list(const std::vector<TopicPartition>& partitions) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& tp : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset =
        tp.offset;
  }
  return list;
}

std::vector<TopicPartition> from_list(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  if (list == nullptr) return out;
  out.reserve(static_cast<std::size_t>(list->cnt));
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    out.push_back({e.topic, e.partition, e.offset});
  }
  return out;
}

namespace {

// One ListOffsets: `which` is RD_KAFKA_OFFSET_BEGINNING (the log start) or
// RD_KAFKA_OFFSET_END (the high watermark).
rd_kafka_resp_err_t list_offset(rd_kafka_t* rk, const std::string& topic, std::int32_t partition,
                                std::int64_t which, int timeout_ms, std::int64_t* out) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = which;
  auto err = rd_kafka_offsets_for_times(rk, list.get(), timeout_ms);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) err = list->elems[0].err;
  *out = list->elems[0].offset;
  return err;
}

}  // namespace

// query_watermarks and end_offsets call it after a request that went
// unanswered (the leader died), which refreshes no leader by itself.
TopicPtr learn_leaders(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  TopicPtr handle(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
  if (!handle) return handle;
  const rd_kafka_metadata_t* metadata = nullptr;
  if (rd_kafka_metadata(rk, 0, handle.get(), &metadata, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    MetadataPtr owned(metadata);
  }
  return handle;
}

std::pair<std::int64_t, std::int64_t> query_watermarks(rd_kafka_t* rk, const std::string& topic,
                                                       std::int32_t partition,
                                                       std::chrono::milliseconds timeout) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto remaining_ms = [&] {
    const auto left = duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<std::int64_t>(1, left.count()));
  };
  std::int64_t low = 0;
  std::int64_t high = 0;
  auto err = list_offset(rk, topic, partition, RD_KAFKA_OFFSET_BEGINNING, remaining_ms(), &low);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    err = list_offset(rk, topic, partition, RD_KAFKA_OFFSET_END, remaining_ms(), &high);
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    (void)learn_leaders(rk, topic, static_cast<int>(timeout.count()));
    throw core::InfraError(
        core::FailureClass::kRetryable,
        "watermarks " + topic + "[" + std::to_string(partition) + "]: " + rd_kafka_err2str(err));
  }
  return {low, high};
}

void log_line(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  // librdkafka's levels are syslog's: 0-3 errors, 4 warnings, 5-7 the rest.
  const auto ours = level <= 3   ? runtime::Level::kError
                    : level == 4 ? runtime::Level::kWarn
                                 : runtime::Level::kInfo;
  runtime::log(ours, "kafka", std::string(rd_kafka_name(rk)) + " " + fac + ": " + buf);
}

void install_logger(rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_log_cb(conf, &log_line);
}

std::vector<TopicPartition> end_offsets(rd_kafka_t* rk, const std::string& topic,
                                        std::int32_t partitions,
                                        std::chrono::milliseconds timeout) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(partitions));
  for (std::int32_t p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = RD_KAFKA_OFFSET_END;
  }
  auto err = rd_kafka_offsets_for_times(rk, list.get(), static_cast<int>(timeout.count()));
  for (int i = 0; err == RD_KAFKA_RESP_ERR_NO_ERROR && i < list->cnt; ++i) err = list->elems[i].err;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    (void)learn_leaders(rk, topic, static_cast<int>(timeout.count()));
    throw core::InfraError(core::FailureClass::kRetryable,
                           "end offsets of " + topic + ": " + rd_kafka_err2str(err));
  }
  return from_list(list.get());
}

std::int32_t partition_count(rd_kafka_t* rk, const std::string& topic,
                             std::chrono::milliseconds timeout) {
  // A topic handle restricts the metadata request to this one topic.
  TopicPtr rkt(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
  const rd_kafka_metadata_t* raw = nullptr;
  const auto err = rd_kafka_metadata(rk, 0, rkt.get(), &raw, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw core::InfraError(core::FailureClass::kRetryable,
                           "metadata for topic " + topic + ": " + rd_kafka_err2str(err));
  }
  MetadataPtr md(raw);
  if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const auto terr = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    const std::string what = "topic " + topic + " is not usable: " + rd_kafka_err2str(terr);
    if (terr == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
        terr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      throw UnknownTopicError(what);
    }
    throw core::InfraError(core::FailureClass::kFatal, what);
  }
  return md->topics[0].partition_cnt;
}

}  // namespace detail
std::int32_t heartbeat_interval_ms(std::int32_t session_timeout_ms) {
  constexpr std::int32_t kLongest = 250;
  return std::clamp(session_timeout_ms / 10, std::int32_t{1}, kLongest);
}

}  // namespace millrace::kafka
