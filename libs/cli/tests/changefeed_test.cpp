// millrace changefeed publish, backfill, backfills and drop-slot: the
// tables published, the requests and cancels, the warnings and the
// listing, against a fake database.
#include <catch2/catch.hpp>

#include "fakes.hpp"

using namespace millrace;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using cli::testing::ChangefeedState;
using cli::testing::FakeChangefeedDb;
using cli::testing::Harness;

namespace {

void use(Harness& h, ChangefeedState& state, std::vector<std::string>* applications = nullptr) {
  h.ctx.backend.changefeed_db = [&state, applications](const pg::PgOptions&,
                                                       const std::string& application) {
    if (applications != nullptr) applications->push_back(application);
    return std::make_unique<FakeChangefeedDb>(state);
  };
}

changefeed::BackfillRow row(std::int64_t id, const std::string& state, const std::string& where,
                            const std::string& error = "", bool cancel = false) {
  changefeed::BackfillRow b;
  b.id = id;
  b.publication = "millrace_changes";
  b.state = state;
  b.table = "public.products";
  b.where = where;
  b.error = error;
  b.cancel = cancel;
  b.chunks = 2;
  b.rows = 150;
  b.requested_at = "2026-11-20 10:00:00";
  return b;
}

}  // namespace

TEST_CASE("changefeed publish publishes the default tables and warns that nothing was granted") {
  Harness h;
  ChangefeedState state;
  state.default_tables = {"store_events", "categories"};
  std::vector<std::string> applications;
  use(h, state, &applications);
  CHECK(h.run({"changefeed", "publish", "--pg-schema", "shop"}) == 0);
  CHECK(applications == std::vector<std::string>{"millrace-changefeed-publish"});
  CHECK(state.calls ==
        std::vector<std::string>{"default_tables shop",
                                 "publish millrace_changes shop store_events,categories grant= "
                                 "changefeed_backfills",
                                 "servers millrace_changes"});
  CHECK(h.out.str() == "publication millrace_changes: shop.{store_events, categories}\n");
  CHECK_THAT(h.err.str(), StartsWith("millrace changefeed publish: warning: no role was granted "
                                     "anything (no --grant-select)."));
  CHECK_THAT(h.err.str(), Contains("SELECT, INSERT and UPDATE on shop.changefeed_backfills, or"));
}

TEST_CASE("changefeed publish asks for the default tables of the kinds in --kinds-dir too") {
  Harness h;
  ChangefeedState state;
  state.default_tables = {"store_events", "shipments"};
  use(h, state);
  CHECK(h.run({"changefeed", "publish", "--kinds-dir", "/srv/kinds", "--grant-select", "feed"}) ==
        0);
  CHECK(state.calls.at(0) == "default_tables public /srv/kinds");
  CHECK(h.out.str() ==
        "publication millrace_changes: public.{store_events, shipments}\n"
        "SELECT granted to feed\n");
}

TEST_CASE("changefeed publish --tables --grant-select publishes those, grants, and does not warn") {
  Harness h;
  ChangefeedState state;
  use(h, state);
  CHECK(h.run({"changefeed", "publish", "--tables", "a,b", "--grant-select", "feed",
               "--publication", "pub", "--backfill-table", "signals"}) == 0);
  CHECK(state.calls == std::vector<std::string>{"publish pub public a,b grant=feed signals"});
  CHECK(h.out.str() == "publication pub: public.{a, b}\nSELECT granted to feed\n");
  CHECK(h.err.str().empty());
}

TEST_CASE("changefeed publish warns about a running feed whose role lacks a grant, only that one") {
  Harness h;
  ChangefeedState state;
  state.default_tables = {"store_events"};
  state.servers.feeds = {
      {"good", "ok", {}}, {"reader", "ok", {"public.store_events"}}, {"writer", "denied", {}}};
  use(h, state);
  CHECK(h.run({"changefeed", "publish"}) == 0);
  CHECK(h.err.str() ==
        "millrace changefeed publish: warning: the running feed of millrace_changes logs in as "
        "reader, which may not read every published table and use "
        "public.changefeed_backfills: run this again with --grant-select reader\n"
        "millrace changefeed publish: warning: the running feed of millrace_changes logs in as "
        "writer, which may not read every published table and use "
        "public.changefeed_backfills: run this again with --grant-select writer\n");
}

TEST_CASE("changefeed publish with no table to publish is misuse, exit 2") {
  Harness h;
  ChangefeedState state;
  use(h, state);
  CHECK(h.run({"changefeed", "publish", "--pg-schema", "empty"}) == 2);
  CHECK_THAT(h.err.str(), StartsWith("millrace changefeed publish: no tables to publish in "
                                     "schema empty (run `millrace migrate` first)"));
  CHECK(state.calls == std::vector<std::string>{"default_tables empty"});
}

TEST_CASE("changefeed backfill asks for one, prints its id, and says why it waits") {
  Harness h;
  ChangefeedState state;
  use(h, state);
  CHECK(h.run({"changefeed", "backfill", "--table", "public.products", "--where",
               "region = 'north'", "--chunk-size", "500"}) == 0);
  // Who serves it is asked before the request is recorded.
  CHECK(state.calls == std::vector<std::string>{
                           "servers millrace_changes",
                           "request public.changefeed_backfills millrace_changes public.products "
                           "where=region = 'north' chunk=500"});
  CHECK(state.audiences == std::vector<std::string>{""});
  CHECK(h.out.str() == "42\n");
  CHECK_THAT(h.err.str(),
             StartsWith("millrace changefeed backfill: warning: backfill 42 waits: no feed of "
                        "publication millrace_changes is streaming now"));
}

TEST_CASE("changefeed backfill --cancel cancels, or fails when there is none to cancel") {
  Harness h;
  ChangefeedState state;
  state.cancellable = {9};
  use(h, state);
  CHECK(h.run({"changefeed", "backfill", "--cancel", "9"}) == 0);
  CHECK(h.out.str() == "backfill 9: cancel asked\n");
  Harness none;
  use(none, state);
  CHECK(none.run({"changefeed", "backfill", "--cancel", "10"}) == 1);
  CHECK(none.err.str() == "millrace changefeed backfill: no backfill 10 is pending or running\n");
  CHECK(state.calls == std::vector<std::string>{"cancel 9", "cancel 10"});
}

TEST_CASE("changefeed backfill takes --table or --cancel, not both or neither, exit 2") {
  for (const auto& flags : {std::vector<std::string>{}, {"--table", "t", "--cancel", "3"}}) {
    Harness h;
    ChangefeedState state;
    use(h, state);
    CHECK(h.run({"changefeed", "backfill"}, flags) == 2);
    CHECK_THAT(h.err.str(), Contains("give --table to ask for a backfill, or --cancel ID to stop"));
    CHECK(state.calls.empty());
  }
}

TEST_CASE("changefeed backfills lists each with its notes, and asks why once per publication") {
  Harness h;
  ChangefeedState state;
  state.backfills = {row(3, "pending", "region = 'north'"), row(2, "running", "", "", true),
                     row(1, "failed", "", "relation gone")};
  use(h, state);
  CHECK(h.run({"changefeed", "backfills"}) == 0);
  CHECK(state.calls == std::vector<std::string>{"servers millrace_changes"});
  std::istringstream lines(h.out.str());
  std::string header, pending, running, failed;
  std::getline(lines, header);
  std::getline(lines, pending);
  std::getline(lines, running);
  std::getline(lines, failed);
  CHECK(header ==
        "id     state      table                          chunks       rows  requested            "
        "where / error");
  CHECK_THAT(pending, StartsWith("3      pending    public.products                     2        "
                                 "150  2026-11-20 10:00:00  region = 'north'; waiting: no feed"));
  CHECK_THAT(running, Contains("2026-11-20 10:00:00  cancel asked; waiting: no feed"));
  CHECK_THAT(failed, Contains("2026-11-20 10:00:00  relation gone"));
  CHECK_THAT(failed, !Contains("waiting"));
}

TEST_CASE("changefeed backfills asks no feed when nothing waits") {
  Harness h;
  ChangefeedState state;
  state.backfills = {row(1, "done", "")};
  use(h, state);
  CHECK(h.run({"changefeed", "backfills"}) == 0);
  CHECK(state.calls.empty());
  CHECK_THAT(h.out.str(), Contains("2026-11-20 10:00:00  \n"));
}

TEST_CASE("changefeed commands refuse a bad publication name before connecting, exit 2") {
  for (const std::string command : {"publish", "backfills"}) {
    Harness h;
    ChangefeedState state;
    std::vector<std::string> applications;
    use(h, state, &applications);
    CHECK(h.run({"changefeed", command, "--publication", "bad name;"}) == 2);
    CHECK_THAT(h.err.str(), StartsWith("millrace changefeed " + command + ": "));
    CHECK(applications.empty());
  }
}

TEST_CASE("changefeed drop-slot refuses a bad slot name before connecting, exit 2") {
  Harness h;
  CHECK(h.run({"changefeed", "drop-slot", "--slot", "Bad-Slot"}) == 2);
  CHECK_THAT(h.err.str(), StartsWith("millrace changefeed drop-slot: "));
}
