// Why a backfill request waits, as `millrace changefeed backfill` and
// `backfills` tell it: from what the CLI found of the feeds running.
#include "millrace/changefeed/admin.hpp"

#include <catch2/catch.hpp>

using namespace millrace::changefeed;

namespace {

BackfillServers servers_with(std::vector<FeedOfPublication> feeds) {
  BackfillServers s;
  s.publication = "millrace_changes";
  s.schema = "public";
  s.signal_table = "public.changefeed_backfills";
  s.server_version = 160002;
  s.tables = {"public.products", "public.store_events"};
  s.feeds = std::move(feeds);
  return s;
}

}  // namespace

TEST_CASE("a request waits with the GRANT that lets the feed's role serve it", "[admin]") {
  const auto s = servers_with({{"millrace_changefeed", "denied", {"public.products"}}});
  const auto reason = unserved_reason(s);
  CHECK_THAT(reason, Catch::Contains("logs in as millrace_changefeed"));
  CHECK_THAT(reason, Catch::Contains("may not read and update public.changefeed_backfills"));
  CHECK_THAT(reason,
             Catch::Contains("GRANT USAGE ON SCHEMA public TO millrace_changefeed; GRANT SELECT, "
                             "INSERT, UPDATE ON public.changefeed_backfills TO "
                             "millrace_changefeed;"));
  // The publication's own tables: without them publish would reset it.
  CHECK_THAT(reason, Catch::Contains("`millrace changefeed publish --publication millrace_changes "
                                     "--tables products,store_events --grant-select "
                                     "millrace_changefeed`"));
  CHECK(backfill_warning(s, "products") == reason);
}

TEST_CASE("one feed whose role may serve it is enough", "[admin]") {
  const auto s = servers_with({{"restricted", "denied", {}},
                               {"millrace_changefeed", "ok", {}},
                               {"restricted", "denied", {}}});
  CHECK(unserved_reason(s).empty());
  CHECK(backfill_warning(s, "products").empty());
  CHECK(backfill_warning(s, "public.store_events").empty());
}

TEST_CASE("every role at fault is named once, quoted as a GRANT needs", "[admin]") {
  auto s =
      servers_with({{"Feed-A", "denied", {}}, {"feed_b", "denied", {}}, {"Feed-A", "denied", {}}});
  s.schema = "Shop";
  s.signal_table = "Shop.changefeed_backfills";
  s.tables = {"Shop.products", "other.items"};  // two schemas: no one publish command
  const auto reason = unserved_reason(s);
  CHECK_THAT(reason, Catch::Contains("logs in as Feed-A and feed_b,"));
  CHECK_THAT(reason, Catch::Contains("GRANT USAGE ON SCHEMA \"Shop\" TO \"Feed-A\"; GRANT SELECT, "
                                     "INSERT, UPDATE ON \"Shop\".changefeed_backfills TO "
                                     "\"Feed-A\"; GRANT USAGE ON SCHEMA \"Shop\" TO feed_b;"));
  CHECK_THAT(reason, !Catch::Contains("millrace changefeed publish"));
}

TEST_CASE("no feed running, or a server before 14, is said as such", "[admin]") {
  auto s = servers_with({});
  CHECK_THAT(unserved_reason(s), Catch::Contains("no feed of publication millrace_changes is "
                                                 "streaming now"));
  s.server_version = 130011;
  s.feeds = {{"millrace_changefeed", "ok", {}}};
  CHECK_THAT(unserved_reason(s), Catch::Contains("PostgreSQL 13 sends no logical messages"));
}

TEST_CASE("a served request that will fail says so: a table not published or not readable",
          "[admin]") {
  const auto s = servers_with({{"millrace_changefeed", "ok", {"public.products"}}});
  CHECK(unserved_reason(s).empty());
  CHECK_THAT(backfill_warning(s, "orders"),
             Catch::Contains("table orders is not in publication millrace_changes"));
  const auto unreadable = backfill_warning(s, "products");
  CHECK_THAT(unreadable,
             Catch::Contains("may not read public.products, so the backfill will fail"));
  CHECK_THAT(unreadable,
             Catch::Contains("GRANT SELECT ON public.products TO millrace_changefeed;"));
  CHECK(backfill_warning(s, "store_events").empty());
}
