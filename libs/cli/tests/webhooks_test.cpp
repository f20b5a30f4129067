// millrace webhooks: what each command's flags become (the endpoint, the
// change), what it prints, and add --backfill's requests, against a fake
// database.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "fakes.hpp"

using namespace millrace;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using cli::testing::FakeWebhooksDb;
using cli::testing::Harness;
using cli::testing::WebhooksState;

namespace {

void use(Harness& h, WebhooksState& state) {
  h.ctx.backend.webhooks_db = [&state](const pg::PgOptions&) {
    return std::make_unique<FakeWebhooksDb>(state);
  };
}

}  // namespace

TEST_CASE("webhooks add turns its flags into the endpoint and prints the generated secret") {
  Harness h;
  WebhooksState state;
  use(h, state);
  CHECK(h.run({"webhooks",        "add",
               "--url",           "https://hooks.example/x",
               "--tables",        "products,,categories",
               "--ops",           "c,u",
               "--ordering",      "key",
               "--format",        "cloudevents-binary",
               "--filter",        "{\"subjectBeginsWith\":\"a\"}",
               "--rate-limit",    "2.5",
               "--disable-after", "36h",
               "--description",   "shop",
               "--allow-private"}) == 0);
  REQUIRE(state.added.size() == 1);
  const auto& e = state.added[0];
  CHECK(e.url == "https://hooks.example/x");
  CHECK(e.tables == std::vector<std::string>{"products", "categories"});
  CHECK(e.ops == std::vector<std::string>{"c", "u"});
  CHECK(e.ordering == "key");
  CHECK(e.format == "cloudevents-binary");
  CHECK(e.filter == "{\"subjectBeginsWith\":\"a\"}");
  CHECK(e.rate_limit == 2.5);
  CHECK(e.disable_after_s == 36 * 3600);
  CHECK(e.description == "shop");
  CHECK(state.allow_private == std::vector<bool>{true});
  CHECK(h.out.str() == "endpoint 7: https://hooks.example/x\nsecret: whsec_generated\n");
  CHECK(state.feed.calls.empty());
}

TEST_CASE("webhooks add keeps the defaults and does not echo a secret it was given") {
  Harness h;
  WebhooksState state;
  use(h, state);
  CHECK(h.run({"webhooks", "add", "--url", "http://x", "--secret", "whsec_mine"}) == 0);
  REQUIRE(state.added.size() == 1);
  CHECK(state.added[0].ordering == "commit");
  CHECK(state.added[0].format == "standard");
  CHECK(state.added[0].disable_after_s == webhooks::kDefaultDisableAfterS);
  CHECK(state.added[0].tables.empty());
  CHECK(state.added[0].filter.empty());
  CHECK(h.out.str() == "endpoint 7: http://x\nsecret: (as given)\n");
}

TEST_CASE("webhooks add reads --filter from a file, and never is 0 for --disable-after") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("millrace-cli-filter-" + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << "{\"includedEventTypes\":[\"c\"]}";
  Harness h;
  WebhooksState state;
  use(h, state);
  CHECK(h.run({"webhooks", "add", "--url", "http://x", "--filter", path.string(), "--disable-after",
               "never"}) == 0);
  std::filesystem::remove(path);
  REQUIRE(state.added.size() == 1);
  CHECK(state.added[0].filter == "{\"includedEventTypes\":[\"c\"]}");
  CHECK(state.added[0].disable_after_s == 0);
}

TEST_CASE("webhooks add's bad values exit 1 naming the flag, and register nothing") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "millrace webhooks add: --url is required\n"},
      {{"--url", "http://x", "--rate-limit", "fast"},
       "millrace webhooks add: --rate-limit: \"fast\" is not a number of deliveries per second\n"},
      {{"--url", "http://x", "--rate-limit", "2x"}, "--rate-limit: \"2x\""},
      {{"--url", "http://x", "--filter", "/nonexistent/filter.json"},
       "--filter: \"/nonexistent/filter.json\" is neither JSON"},
      {{"--url", "http://x", "--disable-after", "soon"},
       "millrace webhooks add: --disable-after: "},
  };
  for (const auto& [flags, message] : cases) {
    Harness h;
    WebhooksState state;
    use(h, state);
    INFO(message);
    CHECK(h.run({"webhooks", "add"}, flags) == 1);
    CHECK_THAT(h.err.str(), Contains(message));
    CHECK(state.added.empty());
  }
}

TEST_CASE("webhooks add reports what the database refused, exit 1") {
  Harness h;
  WebhooksState state;
  state.invalid = "--url: a private address";
  use(h, state);
  CHECK(h.run({"webhooks", "add", "--url", "http://10.0.0.1"}) == 1);
  CHECK(h.err.str() == "millrace webhooks add: --url: a private address\n");
}

TEST_CASE("webhooks add --backfill asks one for each published table, for this endpoint only") {
  Harness h;
  WebhooksState state;
  state.feed.published = {"public.products", "public.categories"};
  use(h, state);
  CHECK(h.run({"webhooks", "add", "--url", "http://x", "--backfill", "--publication", "pub",
               "--pg-schema", "shop"}) == 0);
  CHECK(state.feed.calls ==
        std::vector<std::string>{
            "published pub",
            "request shop.changefeed_backfills pub public.products where= chunk=10000",
            "request shop.changefeed_backfills pub public.categories where= chunk=10000",
            "servers pub"});
  CHECK(state.feed.audiences == std::vector<std::string>{"webhooks:7", "webhooks:7"});
  CHECK_THAT(h.out.str(),
             Contains("backfill 42: public.products\nbackfill 43: public.categories\n"));
  // No feed runs: they wait, and the user is told why.
  CHECK_THAT(h.err.str(), StartsWith("millrace webhooks add: warning: its backfills wait: "));
}

TEST_CASE("webhooks add --backfill with --tables asks for those, and is quiet when a feed serves") {
  Harness h;
  WebhooksState state;
  state.feed.servers.server_version = 160000;
  state.feed.servers.tables = {"public.products"};
  state.feed.servers.feeds = {{"feed", "ok", {}}};
  use(h, state);
  CHECK(h.run({"webhooks", "add", "--url", "http://x", "--tables", "public.products",
               "--backfill"}) == 0);
  CHECK(state.feed.calls.front() ==
        "request public.changefeed_backfills millrace_changes public.products where= "
        "chunk=10000");
  CHECK(h.err.str().empty());
}

TEST_CASE("webhooks update changes only what its flags give, * clears a list, none a filter") {
  Harness h;
  WebhooksState state;
  use(h, state);
  CHECK(h.run({"webhooks", "update", "--endpoint", "5", "--tables", "*", "--ops", "c,d", "--filter",
               "none", "--rate-limit", "0"}) == 0);
  REQUIRE(state.updates.size() == 1);
  const auto& [id, change] = state.updates[0];
  CHECK(id == 5);
  CHECK(change.tables == std::vector<std::string>{});
  CHECK(change.ops == std::vector<std::string>{"c", "d"});
  CHECK(change.filter == std::string());
  CHECK(change.rate_limit == 0.0);
  CHECK_FALSE(change.url);
  CHECK_FALSE(change.format);
  CHECK_FALSE(change.ordering);
  CHECK_FALSE(change.disable_after_s);
  CHECK_FALSE(change.description);
  CHECK(h.out.str() == "endpoint 5 updated\n");
}

TEST_CASE("webhooks commands on an endpoint require --endpoint, exit 2") {
  for (const std::string command : {"update", "disable", "enable", "rotate-secret", "replay"}) {
    Harness h;
    WebhooksState state;
    use(h, state);
    INFO(command);
    CHECK(h.run({"webhooks", command}) == 2);
    CHECK_THAT(h.err.str(),
               StartsWith("millrace webhooks " + command + ": --endpoint is required"));
    Harness zero;
    CHECK(zero.run({"webhooks", command, "--endpoint", "0"}) == 2);
  }
}

TEST_CASE(
    "webhooks disable, enable, rotate-secret, deliveries, replay and list print what they did") {
  Harness h;
  WebhooksState state;
  use(h, state);
  CHECK(h.run({"webhooks", "disable", "--endpoint", "3", "--reason", "maintenance"}) == 0);
  CHECK(h.run({"webhooks", "enable", "--endpoint", "3"}) == 0);
  CHECK(h.run({"webhooks", "rotate-secret", "--endpoint", "3", "--overlap-s", "60"}) == 0);
  CHECK(h.run({"webhooks", "rotate-secret", "--endpoint", "3", "--secret", "whsec_x"}) == 0);
  CHECK(h.run({"webhooks", "deliveries", "--failed", "--limit", "5"}) == 0);
  CHECK(h.run({"webhooks", "deliveries", "--endpoint", "3"}) == 0);
  CHECK(h.run({"webhooks", "replay", "--endpoint", "3", "--since", "2026-11-23T08:00:00Z"}) == 0);
  CHECK(h.run({"webhooks", "list"}) == 0);
  CHECK(state.calls == std::vector<std::string>{"set_active 3 0 maintenance", "set_active 3 1 ",
                                                "rotate 3 60 ", "rotate 3 86400 whsec_x",
                                                "deliveries all failed 5", "deliveries 3 any 50",
                                                "replay 3 2026-11-23T08:00:00Z"});
  CHECK(h.out.str() ==
        "endpoint 3 disabled\n"
        "endpoint 3 enabled\n"
        "endpoint 3\nsecret: whsec_fresh\n"
        "endpoint 3\nsecret: (as given)\n"
        "deliveries\n"
        "deliveries\n"
        "endpoint 3: 3 failed deliveries queued again\n"
        "id url\n");
}

TEST_CASE("webhooks enable takes no --reason, and bad bounds are refused, exit 2") {
  Harness h;
  CHECK(h.run({"webhooks", "enable", "--endpoint", "3", "--reason", "x"}) == 2);
  Harness overlap;
  CHECK(overlap.run({"webhooks", "rotate-secret", "--endpoint", "3", "--overlap-s", "-1"}) == 2);
  Harness limit;
  CHECK(limit.run({"webhooks", "deliveries", "--limit", "0"}) == 2);
}
