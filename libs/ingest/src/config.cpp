#include "millrace/ingest/config.hpp"

#include <stdexcept>
#include <utility>

#include "millrace/httpd/listen_address.hpp"

namespace millrace::ingest {

void validate(ProducerConfig& c) {
  auto [host, port] = httpd::parse_guarded_listen_address(
      c.http_addr,
      {"--http-addr / MILLRACE_HTTP_ADDR", 8080, "MILLRACE_AUTH_TOKEN", "",
       "MILLRACE_HTTP_ALLOW_OPEN", "/v1/events"},
      !c.auth_token.empty(), c.allow_open);
  c.host = std::move(host);
  c.port = port;
  httpd::validate_tls(c.tls, "MILLRACE_HTTP");
  kafka::validate(c.kafka);

  // Two settings would say the same thing, and only one could win silently.
  for (const auto& [key, setting] :
       {std::pair{"queue.buffering.max.messages", "MILLRACE_QUEUE_MAX_MESSAGES"},
        std::pair{"message.timeout.ms", "MILLRACE_PRODUCE_TIMEOUT_MS"}}) {
    if (c.kafka.extra.count(key) != 0) {
      throw core::UsageError(std::string("--kafka-properties / MILLRACE_KAFKA_PROPERTIES: set ") +
                             key + " through " + setting + " instead");
    }
  }
  c.kafka.extra["queue.buffering.max.messages"] = std::to_string(c.queue_max_messages);
}

}  // namespace millrace::ingest
