#include "millrace/httpd/websocket.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/websocket/service.hpp"

namespace millrace::websocket {

void validate(WebsocketConfig& c) {
  if (c.url.empty()) {
    throw core::UsageError(
        "--url / MILLRACE_WEBSOCKET_URL: the feed's ws:// or wss:// URL is required");
  }
  const auto url = httpd::WebSocketUrl::parse(c.url);
  if (c.ca_file.empty() == false && !url.tls) {
    throw core::UsageError("--ca-file applies to wss:// URLs only");
  }
  if (c.feed.empty()) {
    throw core::UsageError(
        "--feed / MILLRACE_WEBSOCKET_FEED: name the feed file (finnhub, binance, or the path "
        "of your own: docs/trades.md)");
  }
  auto loaded = kinds::load_feed(c.feed, c.kinds.kinds_dir);
  c.kind = std::move(loaded.kind);
  c.feed_decl = std::move(loaded.feed);
  c.kinds.kind = c.kind->kind;
  c.topic = kinds::resolve(c.kinds, "");
  c.dlq_topic = kinds::dlq_topic(c.kinds, c.kind->kind, c.topic);
  if (c.source_name.empty()) c.source_name = c.feed_decl->name;
  if (c.every != 0 && c.every < c.run_for) {
    throw core::UsageError("--every (" + std::to_string(c.every) +
                           " s) must be at least --run-for (" + std::to_string(c.run_for) +
                           " s): runs do not overlap");
  }
  if (c.every != 0 && c.run_for == 0) {
    throw core::UsageError(
        "--every needs --run-for: a run without an end never lets the next start");
  }
  if (c.symbols.empty() && !c.feed_decl->subscribe.empty()) {
    throw core::UsageError(
        "--symbols / MILLRACE_WEBSOCKET_SYMBOLS: the feed subscribes per symbol; name at least "
        "one");
  }
  kafka::validate(c.kafka);
  pg::validate(c.pg);
  core::validate(c.retry);
}

}  // namespace millrace::websocket
