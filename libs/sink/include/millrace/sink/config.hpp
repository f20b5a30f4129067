#pragma once

#include <cstdint>
#include <string>

#include "millrace/core/filter.hpp"
#include "millrace/core/options.hpp"
#include "millrace/kafka/types.hpp"

namespace millrace::sink {

// Everything millrace-sink can be told. Member initialisers are the defaults;
// register_options() holds the flag names, environment variables and help.
struct SinkConfig {
  std::string brokers = "127.0.0.1:9092";
  std::string pg = "postgresql://millrace:millrace@127.0.0.1:5432/millrace";
  std::string pg_schema = "public";
  std::string topic = "store-events";
  std::string dlq_topic;  // empty: <topic>.dlq
  std::string group = "millrace-sink";
  std::string client_id = "millrace-sink";
  std::string keep_types = "sale_event,inventory_event";
  std::string min_discount = "20";
  std::int64_t batch_size = 5000;
  std::int64_t batch_ms = 200;
  std::int64_t retry_backoff_ms = 200;
  std::int64_t retry_backoff_max_ms = 10000;
  std::int64_t session_timeout_ms = 10000;
  std::string kafka_properties;
  bool migrate = true;

  // Derived by validate().
  core::FilterConfig filter;
  kafka::Properties kafka_extra;
};

void register_options(core::OptionSet& options, SinkConfig& config);

// Checks cross-field rules and fills the derived members; throws
// core::UsageError naming the setting.
void validate(SinkConfig& config);

}  // namespace millrace::sink
