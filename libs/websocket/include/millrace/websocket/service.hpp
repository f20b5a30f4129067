#pragma once

// millrace-websocket: a WebSocket feed (market data: seed 002's trades) into
// a declared kind's topic, in runs (docs/trades.md). The loop is Source
// (source.hpp); this is its configuration and the component that wires the
// connection, Kafka and PostgreSQL to it.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "millrace/core/options.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/feed.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/runtime/registry.hpp"
#include "millrace/runtime/reloaded.hpp"
#include "millrace/runtime/service.hpp"
#include "millrace/websocket/settings.hpp"

namespace millrace::websocket {

// Its own settings are declared in libs/websocket/src/settings.cpp
// (their values in WebsocketSettings): the URL, the feed file, the symbols, the
// runs' schedule and the connection's limits.
struct WebsocketConfig : WebsocketSettings {
  kafka::KafkaClientOptions kafka =
      kafka::client_options("millrace-websocket", kinds::store_event().topic);
  kinds::KindOptions kinds;
  pg::PgOptions pg;
  core::RetryBackoff retry;
  std::string metrics_addr = runtime::default_metrics_addr("websocket");
  // Set by validate(): the feed file and its kind, the kind's topics.
  std::optional<kinds::Declaration> kind;
  std::optional<kinds::FeedDecl> feed_decl;
  std::string topic, dlq_topic;
  // --symbols as SIGHUP re-read them.
  runtime::Reloaded<std::vector<std::string>> reloaded_symbols;
};

void register_options(core::OptionSet& options, WebsocketConfig& config);
// Reads the feed file and its kind, checks the URL and the schedule;
// throws core::UsageError naming the setting.
void validate(WebsocketConfig& config);

// The service: start() runs the runs on a thread of their own (and one that
// serves Kafka's answers); not ready while disconnected; SIGHUP re-reads
// --symbols; stop() ends the run at a frame boundary, its row written.
std::unique_ptr<runtime::Service> make_websocket(WebsocketConfig config,
                                                 metrics::Registry& metrics);

}  // namespace millrace::websocket
