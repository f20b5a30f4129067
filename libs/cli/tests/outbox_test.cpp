// millrace outbox install and cleanup, against a fake database.
#include <catch2/catch.hpp>

#include "fakes.hpp"

using namespace millrace;
using Catch::Matchers::Contains;
using cli::testing::ChangefeedState;
using cli::testing::FakeChangefeedDb;
using cli::testing::Harness;

namespace {

void use(Harness& h, ChangefeedState& state) {
  h.ctx.backend.changefeed_db = [&state](const pg::PgOptions&, const std::string&) {
    return std::make_unique<FakeChangefeedDb>(state);
  };
}

}  // namespace

TEST_CASE("outbox install creates the table and publication it is given") {
  Harness h;
  ChangefeedState state;
  use(h, state);
  CHECK(
      h.run({"outbox", "install", "--pg-schema", "shop", "--table", "order_outbox", "--publication",
             "orders_outbox", "--grant-insert", "orders_svc", "--grant-select", "feed"}) == 0);
  CHECK(state.calls == std::vector<std::string>{"install_outbox shop.order_outbox orders_outbox "
                                                "insert=orders_svc select=feed"});
  CHECK(h.out.str() == "outbox table shop.order_outbox, publication orders_outbox\n");
}

TEST_CASE("outbox install refuses a table name the feed would refuse") {
  Harness h;
  ChangefeedState state;
  use(h, state);
  CHECK(h.run({"outbox", "install", "--table", "Orders Outbox"}) == 2);
  CHECK(state.calls.empty());
  CHECK_THAT(h.err.str(),
             Contains("--table must be 1 to 63 of a-z, 0-9 and _, got \"Orders Outbox\""));
}

TEST_CASE("outbox cleanup deletes what the slot's feed published") {
  Harness h;
  ChangefeedState state;
  use(h, state);
  CHECK(h.run({"outbox", "cleanup", "--slot", "orders_feed", "--min-age-s", "60"}) == 0);
  CHECK(state.calls == std::vector<std::string>{"cleanup_outbox public.outbox orders_feed 60"});
  CHECK(h.out.str() == "3 published row(s) deleted from public.outbox\n");
}
