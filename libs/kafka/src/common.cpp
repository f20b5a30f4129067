#include <cstdio>
#include <stdexcept>
#include <string_view>

#include "handles.hpp"
#include "millrace/core/failure.hpp"

namespace millrace::kafka {

Properties parse_properties(std::string_view text) {
  Properties out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      throw std::invalid_argument("expected key=value, got \"" + std::string(item) + "\"");
    }
    out[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
  }
  return out;
}

void refuse_consumer_overrides(const Properties& properties) {
  // auto.commit.enable is librdkafka's older (topic-level) name of
  // enable.auto.commit.
  static constexpr std::string_view kManaged[] = {
      "auto.offset.reset", "partition.assignment.strategy", "enable.auto.commit",
      "auto.commit.enable", "enable.auto.offset.store", "group.id"};
  for (const auto& [key, value] : properties) {
    for (const auto managed : kManaged) {
      if (key == managed) {
        throw std::invalid_argument(
            key + " cannot be overridden: Millrace sets it (see docs/architecture.md, "
                  "\"Offsets and gaps\")");
      }
    }
  }
}

namespace detail {

void set_property(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
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

std::pair<std::int64_t, std::int64_t> query_watermarks(rd_kafka_t* rk, const std::string& topic,
                                                       std::int32_t partition,
                                                       std::chrono::milliseconds timeout) {
  std::int64_t low = 0;
  std::int64_t high = 0;
  const auto err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &low, &high,
                                                    static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw core::InfraError(core::FailureClass::kRetryable, "watermarks " + topic + "[" +
                                                               std::to_string(partition) +
                                                               "]: " + rd_kafka_err2str(err));
  }
  return {low, high};
}

void install_logger(rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t* rk, int level, const char* fac,
                                    const char* buf) {
    std::fprintf(stderr, "kafka[%s] level=%d %s: %s\n", rd_kafka_name(rk), level, fac, buf);
  });
}

}  // namespace detail
}  // namespace millrace::kafka
