#pragma once

#include <cstdint>
#include <string>

#include "millrace/core/options.hpp"
#include "millrace/httpd/tls_options.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/runtime/registry.hpp"

namespace millrace::ingest {

// Everything millrace-producer can be told. Member initialisers are the
// defaults; register_options() holds the flags, variables and help.
struct ProducerConfig {
  std::string http_addr = runtime::default_metrics_addr("producer");
  kafka::KafkaClientOptions kafka = kafka::client_options("millrace-producer");
  std::int64_t http_threads = 2;
  std::int64_t max_body_bytes = 1 << 20;
  std::int64_t max_connections = 512;
  std::string auth_token;  // empty: /v1/events is open (on loopback, or with allow_open)
  // Serve /v1/events without a token on an address beyond loopback.
  bool allow_open = false;
  httpd::TlsFiles tls;  // both empty: plain HTTP
  std::int64_t produce_timeout_ms = 10'000;
  std::int64_t queue_max_messages = 100'000;
  // The orders' topic (--order-topic, MILLRACE_ORDERS_TOPIC), for POST
  // /v1/orders.
  kinds::KindOptions kinds;

  // Derived by validate().
  std::string host;
  int port = 0;
};

void register_options(core::OptionSet& options, ProducerConfig& config);

// Checks cross-field rules and fills the derived members; throws
// core::UsageError naming the setting.
void validate(ProducerConfig& config);

}  // namespace millrace::ingest
