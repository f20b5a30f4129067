#include "millrace/ingest/config.hpp"

#include <stdexcept>
#include <utility>

#include "millrace/httpd/listen_address.hpp"

namespace millrace::ingest {

void register_options(core::OptionSet& o, ProducerConfig& c) {
  o.add_string("http-addr", "MILLRACE_HTTP_ADDR", &c.http_addr,
               "host:port to serve HTTP on ([v6]:port for IPv6; port 0 picks a free one)");
  kafka::register_options(o, c.kafka);
  kinds::register_topic_options(o, c.kinds, core::environment_map());
  o.add_int("http-threads", "MILLRACE_HTTP_THREADS", &c.http_threads,
            "HTTP event-loop threads; each serves any number of connections", 1, 256);
  o.add_int("max-connections", "MILLRACE_HTTP_MAX_CONNECTIONS", &c.max_connections,
            "Connections served at once; one more is answered 503 and closed (keep it below "
            "the open-file limit, ulimit -n)",
            1, 1'000'000);
  o.add_int("max-body-bytes", "MILLRACE_MAX_BODY_BYTES", &c.max_body_bytes,
            "Largest request body accepted (larger: 413)", 1, 256LL << 20);
  o.add_string("auth-token", "MILLRACE_AUTH_TOKEN", &c.auth_token,
               "Bearer token required on /v1/events; required too when --http-addr is beyond "
               "loopback (empty on loopback: open to local clients)",
               core::OptionSet::Shown::kSecret);
  o.add_bool("allow-open", "MILLRACE_HTTP_ALLOW_OPEN", &c.allow_open,
             "Serve /v1/events without a token on an address beyond loopback (behind a proxy "
             "that authenticates)");
  httpd::register_tls_options(o, c.tls, "MILLRACE_HTTP");
  o.add_duration("produce-timeout-ms", "MILLRACE_PRODUCE_TIMEOUT_MS", &c.produce_timeout_ms,
                 core::OptionSet::DurationUnit::kMilliseconds,
                 "How long a request waits for Kafka to acknowledge its events (also librdkafka's "
                 "message.timeout.ms)",
                 100, 900'000);
  o.add_int("queue-max-messages", "MILLRACE_QUEUE_MAX_MESSAGES", &c.queue_max_messages,
            "Messages librdkafka may hold unacknowledged (queue.buffering.max.messages); when "
            "full, requests get 503",
            1, 10'000'000);
}

void validate(ProducerConfig& c) {
  auto [host, port] =
      httpd::parse_listen_address(c.http_addr, "--http-addr / MILLRACE_HTTP_ADDR", 8080);
  c.host = std::move(host);
  c.port = port;
  if (c.auth_token.empty() && !c.allow_open && !httpd::is_loopback(c.host)) {
    throw core::UsageError("--http-addr / MILLRACE_HTTP_ADDR is " + c.http_addr +
                           ", beyond loopback: set MILLRACE_AUTH_TOKEN (clients then send "
                           "Authorization: Bearer <token>), or MILLRACE_HTTP_ALLOW_OPEN=true to "
                           "serve /v1/events to anyone who can connect");
  }
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
