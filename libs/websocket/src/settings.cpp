// The settings of websocket, each declared once (core::declare): --help,
// --check-config, the SIGHUP marks and docs/configuration.md are made from
// these declarations, in this order.

#include "millrace/core/options.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/websocket/service.hpp"

namespace millrace::websocket {

void register_options(core::OptionSet& o, WebsocketConfig& c) {
  core::declare(
      o, &c.url,
      {.flag = "url",
       .env = "MILLRACE_WEBSOCKET_URL",
       .help = "The feed's ws:// or wss:// URL (its query may hold a token: it is never logged)",
       .shown = core::Shown::kSecret});
  core::declare(
      o, &c.feed,
      {.flag = "feed",
       .env = "MILLRACE_WEBSOCKET_FEED",
       .help = "How the feed's frames become records of a kind: a built-in feed file (finnhub, "
               "binance: proto/feeds) or the path of your own (docs/trades.md)"});
  core::declare(o, &c.symbols,
                {.flag = "symbols",
                 .env = "MILLRACE_WEBSOCKET_SYMBOLS",
                 .help = "Symbols subscribed after every connect, each with the feed file's "
                         "subscribe message (comma-separated; SIGHUP re-reads them)",
                 .reload = [&c] { c.reloaded_symbols.set(c.symbols); }});
  core::declare(o, &c.source_name,
                {.flag = "source-name",
                 .env = "MILLRACE_WEBSOCKET_SOURCE_NAME",
                 .help = "The source's name in ingestion_runs (default: the feed file's feed)"});
  core::declare(o, &c.ca_file,
                {.flag = "ca-file",
                 .env = "MILLRACE_WEBSOCKET_CA_FILE",
                 .help = "wss://: the certificate authorities to trust (PEM; default: the "
                         "system's). The server's certificate and name are always verified"});
  core::declare(o, &c.run_for,
                {.flag = "run-for",
                 .env = "MILLRACE_WEBSOCKET_RUN_FOR",
                 .help = "Length of a run (0: one run until stopped)",
                 .min = 0,
                 .max = 31'536'000,
                 .unit = core::DurationUnit::kSeconds});
  core::declare(o, &c.every,
                {.flag = "every",
                 .env = "MILLRACE_WEBSOCKET_EVERY",
                 .help = "A run starts this often, the first at start (0: each right after the "
                         "last; at least --run-for)",
                 .min = 0,
                 .max = 31'536'000,
                 .unit = core::DurationUnit::kSeconds});
  core::declare(o, &c.alert_below_ratio,
                {.flag = "alert-below-ratio",
                 .env = "MILLRACE_WEBSOCKET_ALERT_BELOW_RATIO",
                 .help = "A run that produced fewer records than this share of the previous run's "
                         "is short: millrace_websocket_last_run says so, and "
                         "MillraceIngestionRunShort emails its figures (0: never short)",
                 .min = 0,
                 .max = 1});
  core::declare(o, &c.max_frame_bytes,
                {.flag = "max-frame-bytes",
                 .env = "MILLRACE_WEBSOCKET_MAX_FRAME_BYTES",
                 .help = "A longer frame is read to its end and refused (frame_too_large), its "
                         "first bytes dead-lettered",
                 .min = 64,
                 .max = 268'435'456});
  core::declare(o, &c.connect_timeout_ms,
                {.flag = "connect-timeout-ms",
                 .env = "MILLRACE_WEBSOCKET_CONNECT_TIMEOUT_MS",
                 .help = "Resolving, connecting, TLS and the upgrade must be done within this",
                 .min = 100,
                 .max = 600'000,
                 .unit = core::DurationUnit::kMilliseconds});
  core::declare(o, &c.idle_timeout_ms,
                {.flag = "idle-timeout-ms",
                 .env = "MILLRACE_WEBSOCKET_IDLE_TIMEOUT_MS",
                 .help = "After half of this without a byte the source pings the server; once all "
                         "of it has passed without one, the connection is given up (a stall)",
                 .min = 200,
                 .max = 3'600'000,
                 .unit = core::DurationUnit::kMilliseconds});
  core::declare(o, &c.produce_timeout_ms,
                {.flag = "produce-timeout-ms",
                 .env = "MILLRACE_WEBSOCKET_PRODUCE_TIMEOUT_MS",
                 .help = "How long Kafka may take to acknowledge a record (librdkafka's "
                         "message.timeout.ms); a frame it did not take by then is counted lost",
                 .min = 1000,
                 .max = 3'600'000,
                 .unit = core::DurationUnit::kMilliseconds});
  core::declare(o, &c.dlq_max_bytes,
                {.flag = "dlq-max-bytes",
                 .env = "MILLRACE_WEBSOCKET_DLQ_MAX_BYTES",
                 .help = "A dead letter's frame is cut to fit this many bytes (headers say so)",
                 .min = 1024,
                 .max = 268'435'456});
  kafka::register_options(o, c.kafka, kinds::topic_setting(kinds::store_event()));
  kinds::register_topic_options(o, c.kinds, core::environment_map());
  pg::register_service_options(o, c.pg, "websocket");
  core::register_options(o, c.retry);
  core::add_metrics_addr(o, &c.metrics_addr);
}

}  // namespace millrace::websocket
