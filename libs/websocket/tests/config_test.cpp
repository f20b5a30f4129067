#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "millrace/core/options.hpp"
#include "millrace/core/parse_config.hpp"
#include "millrace/httpd/websocket.hpp"
#include "millrace/test_paths.hpp"
#include "millrace/websocket/service.hpp"

using namespace millrace;
using Catch::Matchers::Contains;

namespace {

websocket::WebsocketConfig parsed(std::vector<std::string> args) {
  return core::parse_config<websocket::WebsocketConfig>({}, args);
}

const std::string kFinnhub = "--feed=finnhub";
const std::string kOwn = "--feed=" + millrace::test_paths::source("proto/feeds/binance.json");

}  // namespace

TEST_CASE("the feed file names the kind, its topics follow", "[config]") {
  const auto c = parsed({"--url=wss://ws.finnhub.io?token=abc", kFinnhub, "--symbols=AAPL,MSFT"});
  CHECK(c.kind->kind == "trade");
  CHECK(c.topic == "market-trades");
  CHECK(c.dlq_topic == "market-trades.dlq");
  CHECK(c.source_name == "finnhub");
  CHECK(c.symbols == std::vector<std::string>{"AAPL", "MSFT"});
}

TEST_CASE("what the source cannot run with is refused, naming the setting", "[config]") {
  CHECK_THROWS_WITH(parsed({kFinnhub}), Contains("--url"));
  CHECK_THROWS_WITH(parsed({"--url=http://x", kFinnhub}), Contains("ws:// or wss://"));
  CHECK_THROWS_WITH(parsed({"--url=ws://x"}), Contains("--feed"));
  CHECK_THROWS_WITH(parsed({"--url=ws://x", "--feed=/nonexistent.json"}),
                    Contains("cannot be read"));
  CHECK_THROWS_WITH(parsed({"--url=ws://x", "--feed=kraken"}),
                    Contains("no built-in feed \"kraken\" (binance, finnhub)"));
  CHECK(parsed({"--url=ws://x", kOwn, "--symbols=bnbbtc"}).feed_decl->name == "binance");
  CHECK_THROWS_WITH(parsed({"--url=ws://x", kFinnhub}), Contains("--symbols"));
  CHECK_THROWS_WITH(parsed({"--url=ws://x", kFinnhub, "--symbols=A", "--run-for=10", "--every=5"}),
                    Contains("--every"));
  CHECK_THROWS_WITH(parsed({"--url=ws://x", kFinnhub, "--symbols=A", "--every=5"}),
                    Contains("--every needs --run-for"));
  CHECK_THROWS_WITH(parsed({"--url=ws://x", kFinnhub, "--symbols=A", "--ca-file=/ca.pem"}),
                    Contains("wss://"));
  CHECK_NOTHROW(
      parsed({"--url=ws://x", kFinnhub, "--symbols=A", "--run-for=86400", "--every=86400"}));
}

TEST_CASE("URLs: ports, IPv6, and the query kept out of logs", "[config]") {
  const auto u = httpd::WebSocketUrl::parse("wss://ws.finnhub.io?token=secret");
  CHECK(u.tls);
  CHECK(u.host == "ws.finnhub.io");
  CHECK(u.port == "443");
  CHECK(u.target == "/?token=secret");
  CHECK(u.redacted() == "wss://ws.finnhub.io:443/?...");
  const auto v = httpd::WebSocketUrl::parse("ws://[::1]:9001/ws/bnbbtc@trade");
  CHECK(v.host == "::1");
  CHECK(v.port == "9001");
  CHECK(v.redacted() == "ws://[::1]:9001/ws/bnbbtc@trade");
  CHECK_THROWS_WITH(httpd::WebSocketUrl::parse("ws://host:99999/"), Contains("1..65535"));
  CHECK_THROWS_WITH(httpd::WebSocketUrl::parse("ws://user:pw@host/"), Contains("user information"));
  CHECK_THROWS_WITH(httpd::WebSocketUrl::parse("ws:///x"), Contains("no host"));
}
