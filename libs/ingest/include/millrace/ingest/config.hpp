#pragma once

#include <cstdint>
#include <string>

#include "millrace/core/options.hpp"
#include "millrace/httpd/tls_options.hpp"
#include "millrace/ingest/settings.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/runtime/registry.hpp"

namespace millrace::ingest {

// Everything millrace-producer can be told: its own settings, declared in
// libs/ingest/src/settings.cpp (their values in IngestSettings: the address, HTTP
// threads, connections and body size, the token, the produce timeout and
// queue), and the components' below. /v1/events is open without a token
// only on loopback or with allow_open.
struct ProducerConfig : IngestSettings {
  kafka::KafkaClientOptions kafka =
      kafka::client_options("millrace-producer", kinds::store_event().topic);
  httpd::TlsFiles tls;  // both empty: plain HTTP
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
