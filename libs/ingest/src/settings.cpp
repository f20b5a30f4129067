// The settings of ingest, each declared once (core::declare): --help,
// --check-config, the SIGHUP marks and docs/configuration.md are made from
// these declarations, in this order.

#include "millrace/core/options.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/httpd/tls_options.hpp"
#include "millrace/ingest/config.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/kinds/options.hpp"

namespace millrace::ingest {

void register_options(core::OptionSet& o, ProducerConfig& c) {
  core::declare(
      o, &c.http_addr,
      {.flag = "http-addr",
       .env = "MILLRACE_HTTP_ADDR",
       .help = "host:port to serve HTTP on ([v6]:port for IPv6; port 0 picks a free one)"});
  kafka::register_options(o, c.kafka, kinds::topic_setting(kinds::store_event()));
  kinds::register_topic_options(o, c.kinds, core::environment_map());
  core::declare(o, &c.http_threads,
                {.flag = "http-threads",
                 .env = "MILLRACE_HTTP_THREADS",
                 .help = "HTTP event-loop threads; each serves any number of connections",
                 .min = 1,
                 .max = 256});
  core::declare(o, &c.max_connections,
                {.flag = "max-connections",
                 .env = "MILLRACE_HTTP_MAX_CONNECTIONS",
                 .help = "Connections served at once; one more is answered 503 and closed (keep it "
                         "below the open-file limit, ulimit -n)",
                 .min = 1,
                 .max = 1'000'000});
  core::declare(o, &c.max_body_bytes,
                {.flag = "max-body-bytes",
                 .env = "MILLRACE_MAX_BODY_BYTES",
                 .help = "Largest request body accepted (larger: 413)",
                 .min = 1,
                 .max = 268'435'456});
  core::declare(o, &c.auth_token,
                {.flag = "auth-token",
                 .env = "MILLRACE_AUTH_TOKEN",
                 .help = "Bearer token required on /v1/events; required too when --http-addr is "
                         "beyond loopback (empty on loopback: open to local clients)",
                 .shown = core::Shown::kSecret});
  core::declare(o, &c.allow_open,
                {.flag = "allow-open",
                 .env = "MILLRACE_HTTP_ALLOW_OPEN",
                 .help = "Serve /v1/events without a token on an address beyond loopback (behind a "
                         "proxy that authenticates)"});
  httpd::register_tls_options(o, c.tls, "MILLRACE_HTTP");
  core::declare(o, &c.produce_timeout_ms,
                {.flag = "produce-timeout-ms",
                 .env = "MILLRACE_PRODUCE_TIMEOUT_MS",
                 .help = "How long a request waits for Kafka to acknowledge its events (also "
                         "librdkafka's message.timeout.ms)",
                 .min = 100,
                 .max = 900'000,
                 .unit = core::DurationUnit::kMilliseconds});
  core::declare(o, &c.queue_max_messages,
                {.flag = "queue-max-messages",
                 .env = "MILLRACE_QUEUE_MAX_MESSAGES",
                 .help = "Messages librdkafka may hold unacknowledged "
                         "(queue.buffering.max.messages); when full, requests get 503",
                 .min = 1,
                 .max = 10'000'000});
}

}  // namespace millrace::ingest
