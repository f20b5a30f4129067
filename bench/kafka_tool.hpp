#pragma once

// What the two Kafka reference tools (paced_produce.cpp,
// paced_transactions.cpp) share: handles that free themselves, their
// -X key=value settings, and making a producer from them. librdkafka alone,
// none of Millrace's libraries.

#include <librdkafka/rdkafka.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tool.hpp"

namespace millrace::bench {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
  void operator()(rd_kafka_error_t* error) const { rd_kafka_error_destroy(error); }
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
  void operator()(rd_kafka_consumer_group_metadata_t* cgmd) const {
    rd_kafka_consumer_group_metadata_destroy(cgmd);
  }
};
template <typename T>
using KafkaPtr = std::unique_ptr<T, KafkaDeleter>;

using Properties = std::vector<std::pair<std::string, std::string>>;

// One -X flag's value, key=value, added to `properties`.
inline void add_property(Properties& properties, const std::string& value) {
  const auto eq = value.find('=');
  if (eq == std::string::npos) throw std::invalid_argument("-X wants key=value: " + value);
  properties.emplace_back(value.substr(0, eq), value.substr(eq + 1));
}

// The flags both tools take: where to send, the schedule, and -X.
struct PacedOptions {
  std::string brokers;
  std::string topic;
  int rate = 0;
  int seconds = 20;
  int warmup_seconds = 2;
  int partitions = 4;
  Properties properties;

  // Takes `flag` if it is one of these; false otherwise. A rate below
  // `min_rate` is refused.
  bool take(const std::string& flag, const std::string& value, int min_rate) {
    if (flag == "--brokers") {
      brokers = value;
    } else if (flag == "--topic") {
      topic = value;
    } else if (flag == "--rate") {
      rate = whole_number(flag, value, min_rate);
    } else if (flag == "--seconds") {
      seconds = whole_number(flag, value, 0);
    } else if (flag == "--warmup-seconds") {
      warmup_seconds = whole_number(flag, value, 0);
    } else if (flag == "--partitions") {
      partitions = whole_number(flag, value, 0);
    } else if (flag == "-X") {
      add_property(properties, value);
    } else {
      return false;
    }
    return true;
  }
};

// A producer of `brokers` with `settings` then `properties` (the -X flags,
// which win) set; `prepare` may add callbacks and an opaque before the
// handle is made. Throws naming a refused setting.
template <typename Prepare>
KafkaPtr<rd_kafka_t> make_producer(const std::string& brokers, const Properties& settings,
                                   const Properties& properties, Prepare prepare) {
  char err[512];
  KafkaPtr<rd_kafka_conf_t> conf(rd_kafka_conf_new());
  const auto set = [&](const std::string& key, const std::string& value) {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
      throw std::invalid_argument(key + "=" + value + ": " + err);
    }
  };
  set("bootstrap.servers", brokers);
  for (const auto& [key, value] : settings) set(key, value);
  for (const auto& [key, value] : properties) set(key, value);
  prepare(conf.get());
  KafkaPtr<rd_kafka_t> rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!rk) throw std::runtime_error(std::string("rd_kafka_new: ") + err);
  static_cast<void>(conf.release());  // rd_kafka_new took it
  return rk;
}

}  // namespace millrace::bench
