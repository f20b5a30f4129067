// The live stream's rules, without servers: which events a client gets
// (live_hub.hpp) and when the views are read again (live_driver.hpp).
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <set>
#include <stdexcept>

#include "live_driver.hpp"
#include "live_hub.hpp"
#include "millrace/core/failure.hpp"
#include "views.hpp"

using namespace millrace;
using namespace millrace::api;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

class FakeStream final : public httpd::Stream {
 public:
  bool send(std::string_view data) override {
    if (!open_) return false;
    pieces.emplace_back(data);
    return true;
  }
  void close() override { open_ = false; }
  bool open() const override { return open_; }
  std::vector<std::string> pieces;
  bool open_ = true;
};

class FakeExchange final : public httpd::Exchange {
 public:
  void reply(httpd::Reply) override { throw std::logic_error("reply"); }
  void defer(std::chrono::steady_clock::duration, std::function<httpd::Reply()>) override {
    throw std::logic_error("defer");
  }
  void finish() override {}
  std::shared_ptr<httpd::Stream> stream(httpd::Reply h, std::size_t) override {
    head = std::move(h);
    stream_ = std::make_shared<FakeStream>();
    return stream_;
  }
  httpd::Reply head;
  std::shared_ptr<FakeStream> stream_;
};

std::shared_ptr<FakeExchange> subscribe(LiveHub& hub, std::optional<std::string_view> last) {
  auto e = std::make_shared<FakeExchange>();
  hub.subscribe(e, last);
  return e;
}

}  // namespace

TEST_CASE("an SSE event is id, event and one data line, a line break in data is a bug", "[live]") {
  CHECK(sse_event("views", "e-1", R"({"a":1})") == "id: e-1\nevent: views\ndata: {\"a\":1}\n\n");
  CHECK(sse_event("health", "", "{}") == "event: health\ndata: {}\n\n");
  CHECK_THROWS_AS(sse_event("views", "", "{\n}"), std::logic_error);
}

TEST_CASE("a new client gets a snapshot, then only the views that changed, each time with a new id",
          "[live]") {
  LiveHub hub("ep");
  hub.publish_health(R"({"ok":1})");
  CHECK(hub.publish_views({{"a", R"({"rows":[1]})"}, {"b", R"({"rows":[2]})"}}, "T1") == 2);
  CHECK(hub.current_id() == "ep-1");

  auto first = subscribe(hub, std::nullopt);
  CHECK(first->head.content_type == "text/event-stream");
  CHECK(first->head.body ==
        "retry: 1000\n\nid: ep-1\nevent: snapshot\ndata: {\"at\":\"T1\",\"views\":{\"a\":{\"rows\":"
        "[1]},\"b\":{\"rows\":[2]}},\"health\":{\"ok\":1}}\n\n");

  // Nothing changed: no event, the id stays.
  CHECK(hub.publish_views({{"a", R"({"rows":[1]})"}, {"b", R"({"rows":[2]})"}}, "T2") == 0);
  CHECK(first->stream_->pieces.empty());
  CHECK(hub.current_id() == "ep-1");

  CHECK(hub.publish_views({{"a", R"({"rows":[1]})"}, {"b", R"({"rows":[3]})"}}, "T3") == 1);
  REQUIRE(first->stream_->pieces.size() == 1);
  CHECK(first->stream_->pieces[0] ==
        "id: ep-2\nevent: views\ndata: {\"at\":\"T3\",\"views\":{\"b\":{\"rows\":[3]}}}\n\n");

  hub.publish_health(R"({"ok":2})");
  REQUIRE(first->stream_->pieces.size() == 2);
  CHECK(first->stream_->pieces[1] == "event: health\ndata: {\"ok\":2}\n\n");
}

TEST_CASE("a client reconnecting with the current id gets no snapshot, with any other, one",
          "[live]") {
  LiveHub hub("ep");
  // Before any views: a snapshot of nothing, with no id.
  auto early = subscribe(hub, "ep-7");
  CHECK_THAT(early->head.body, Contains("event: snapshot\ndata: {\"at\":\"\",\"views\":{}"));
  CHECK_THAT(early->head.body, !Contains("id:"));

  hub.publish_views({{"a", "1"}}, "T1");
  hub.publish_views({{"a", "2"}}, "T2");
  CHECK(subscribe(hub, "ep-2")->head.body == "retry: 1000\n\n");
  CHECK_THAT(subscribe(hub, "ep-1")->head.body, Contains("id: ep-2\nevent: snapshot"));
  // Another process's id (the API restarted): a snapshot.
  CHECK_THAT(subscribe(hub, "other-2")->head.body, Contains("event: snapshot"));
  CHECK_THAT(subscribe(hub, "")->head.body, Contains("event: snapshot"));
}

TEST_CASE("streams that ended are dropped at the next event", "[live]") {
  LiveHub hub("ep");
  auto a = subscribe(hub, std::nullopt);
  auto b = subscribe(hub, std::nullopt);
  CHECK(hub.clients() == 2);
  a->stream_->close();
  hub.ping();
  CHECK(hub.clients() == 1);
  CHECK(b->stream_->pieces == std::vector<std::string>{": ping\n\n"});
}

TEST_CASE("only the aggregates and the catalog of the API's own schema touch the views", "[live]") {
  const auto& tables = built_in_views()->tables;
  for (const char* table :
       {"public.agg_hourly", "public.agg_daily", "public.agg_products", "public.agg_categories",
        "public.products", "public.categories", "public.agg_web_orders_hourly",
        "public.agg_web_orders_daily", "public.agg_web_orders_items"}) {
    INFO(table);
    CHECK(touches_views(table, "public", tables));
  }
  for (const char* table : {"public.store_events", "other.agg_hourly", "publicx.agg_hourly",
                            "public.agg_hourly_old", "agg_hourly", "public.orders"}) {
    INFO(table);
    CHECK_FALSE(touches_views(table, "public", tables));
  }
}

namespace {

class FakeChanges final : public ChangeSource {
 public:
  std::vector<FeedChange> poll(std::chrono::milliseconds) override {
    if (fail) throw core::InfraError(core::FailureClass::kRetryable, "no broker");
    if (batches.empty()) return {};
    auto b = std::move(batches.front());
    batches.pop_front();
    return b;
  }
  std::deque<std::vector<FeedChange>> batches;
  bool fail = false;
};

class FakeSource final : public LiveSource {
 public:
  // Transactions a read begun now cannot see yet: committed in the WAL, which
  // the change feed published, but not yet shown to other sessions.
  std::set<std::uint32_t> not_shown;
  LiveViews views(const std::vector<std::uint32_t>& xids) override {
    asked.push_back(xids);
    ++reads;
    bool behind = false;
    for (const auto xid : xids) behind = behind || not_shown.count(xid) != 0;
    // Read too early, the views are as they were.
    if (!behind) shown = value;
    return {{{"today_summary", "{\"n\":" + std::to_string(shown) + "}"}}, filling, behind};
  }
  int shown = 0;
  std::vector<std::vector<std::uint32_t>> asked;
  std::string health(const std::string& feed_error) override {
    last_feed_error = feed_error;
    ++healths;
    return "{}";
  }
  int reads = 0;
  int healths = 0;
  int value = 0;
  bool filling = false;
  std::string last_feed_error;
};

// A driver on fakes, polling without waiting.
struct DriverRig {
  DriverRig() {
    auto c = std::make_unique<FakeChanges>();
    auto s = std::make_unique<FakeSource>();
    changes = c.get();
    source = s.get();
    LiveTiming t;
    t.poll = std::chrono::milliseconds(0);
    t.until_hour_ends = [this] { return until_hour_ends; };
    driver = std::make_unique<LiveDriver>(hub, std::move(c), std::move(s), "public",
                                          built_in_views()->tables, t);
  }
  LiveHub hub{"ep"};
  FakeChanges* changes = nullptr;
  FakeSource* source = nullptr;
  std::unique_ptr<LiveDriver> driver;
  const std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  std::chrono::milliseconds until_hour_ends{std::chrono::hours(1)};
};

}  // namespace

TEST_CASE(
    "the driver reads the views when a change touches them, at most once per coalescing "
    "interval, and anyway now and then",
    "[live]") {
  DriverRig r;

  r.driver->step(r.t0);  // the first turn reads everything
  CHECK(r.source->reads == 1);
  CHECK(r.source->healths == 1);
  CHECK(r.hub.current_id() == "ep-1");

  r.changes->batches.push_back({{"public.store_events", 1}, {"other.agg_hourly", 2}});
  r.driver->step(r.t0 + 1s);
  CHECK(r.source->reads == 1);  // nothing the views read

  r.source->value = 1;
  r.changes->batches.push_back({{"public.agg_hourly", 3}});
  r.driver->step(r.t0 + 2s);
  CHECK(r.source->reads == 2);
  CHECK(r.hub.current_id() == "ep-2");

  // A burst: the second change within the coalescing interval waits for it.
  r.source->value = 2;
  r.changes->batches.push_back({{"public.agg_daily", 4}});
  r.driver->step(r.t0 + 2s + 50ms);  // within 100 ms of the read before
  CHECK(r.source->reads == 2);
  r.driver->step(r.t0 + 2s + 250ms);
  CHECK(r.source->reads == 3);
  CHECK(r.hub.current_id() == "ep-3");

  // No change for a minute: read anyway (an hour or a day rolls over).
  r.driver->step(r.t0 + 61s);
  CHECK(r.source->reads == 3);
  r.driver->step(r.t0 + 2s + 250ms + 60s);
  CHECK(r.source->reads == 4);
  CHECK(r.source->healths >= 2);
}

TEST_CASE(
    "a change whose transaction a read cannot see yet leaves the views to read again, not for a "
    "minute",
    "[live]") {
  DriverRig r;
  r.driver->step(r.t0);
  CHECK(r.source->reads == 1);
  CHECK(r.source->asked.back().empty());  // nothing to wait for

  // The feed published transaction 7 before PostgreSQL shows it to others:
  // the read comes too early and finds the views as they were.
  r.source->value = 1;
  r.source->not_shown = {7};
  r.changes->batches.push_back(
      {{"public.agg_hourly", 7}, {"public.agg_daily", 7}, {"public.store_events", 8}});
  r.driver->step(r.t0 + 2s);
  CHECK(r.source->asked.back() == std::vector<std::uint32_t>{7});  // what touches the views
  CHECK(r.source->reads == 2);
  CHECK(r.hub.current_id() == "ep-1");  // nothing new to send

  // Shown: the next turn past the coalescing interval reads it, not the
  // periodic read a minute later.
  r.driver->step(r.t0 + 2s + 50ms);
  CHECK(r.source->reads == 2);
  r.source->not_shown.clear();
  r.driver->step(r.t0 + 2s + 150ms);
  CHECK(r.source->asked.back() == std::vector<std::uint32_t>{7});
  CHECK(r.source->reads == 3);
  CHECK(r.hub.current_id() == "ep-2");

  // Seen once, it is asked about no more.
  r.changes->batches.push_back({{"public.agg_daily", 9}});
  r.driver->step(r.t0 + 3s);
  CHECK(r.source->asked.back() == std::vector<std::uint32_t>{9});
  r.changes->batches.push_back({{"public.products", 0}});  // no transaction id: nothing to wait for
  r.driver->step(r.t0 + 4s);
  CHECK(r.source->asked.back().empty());
  CHECK(r.source->reads == 5);
  r.driver->step(r.t0 + 4s + 150ms);  // clean: no read until the next change or minute
  CHECK(r.source->reads == 5);
}

TEST_CASE(
    "a transaction the views' database never shows is waited for 10 s, then left to the periodic "
    "reads",
    "[live]") {
  DriverRig r;
  r.driver->step(r.t0);
  r.source->not_shown = {7};
  r.changes->batches.push_back({{"public.agg_hourly", 7}});
  r.driver->step(r.t0 + 1s);
  CHECK(r.source->reads == 2);
  // Read again at each coalescing interval while it waits...
  r.driver->step(r.t0 + 1s + 150ms);
  CHECK(r.source->reads == 3);
  r.driver->step(r.t0 + 10s + 900ms);
  CHECK(r.source->reads == 4);
  CHECK(r.source->asked.back() == std::vector<std::uint32_t>{7});
  // ...until 10 s after the first read that did not show it.
  r.driver->step(r.t0 + 11s);
  CHECK(r.source->reads == 5);
  r.driver->step(r.t0 + 11s + 150ms);
  r.driver->step(r.t0 + 30s);
  CHECK(r.source->reads == 5);  // no longer every 100 ms
  r.driver->step(r.t0 + 71s);   // the periodic read, without it
  CHECK(r.source->reads == 6);
  CHECK(r.source->asked.back().empty());

  // A later change is waited for afresh, its own 10 s.
  r.source->not_shown = {8};
  r.changes->batches.push_back({{"public.agg_daily", 8}});
  r.driver->step(r.t0 + 72s);
  CHECK(r.source->reads == 7);
  r.driver->step(r.t0 + 80s);
  CHECK(r.source->reads == 8);
  CHECK(r.source->asked.back() == std::vector<std::uint32_t>{8});
}

TEST_CASE("without the change feed the driver says so and reads the views more often", "[live]") {
  DriverRig r;
  r.driver->step(r.t0);
  CHECK(r.source->reads == 1);
  CHECK(r.source->last_feed_error.empty());

  r.changes->fail = true;
  r.driver->step(r.t0 + 3s);  // catches up at once, then every 5 s
  CHECK(r.source->reads == 2);
  CHECK(r.source->last_feed_error == "no broker");
  r.driver->step(r.t0 + 7s);
  CHECK(r.source->reads == 2);
  r.driver->step(r.t0 + 8s);
  CHECK(r.source->reads == 3);

  r.changes->fail = false;
  r.driver->step(r.t0 + 10s);
  CHECK(r.source->last_feed_error.empty());
}

TEST_CASE("while a declared view is not filled the driver reads the views every 5 s", "[live]") {
  DriverRig r;
  r.source->filling = true;
  r.driver->step(r.t0);
  CHECK(r.source->reads == 1);
  r.driver->step(r.t0 + 4s);
  CHECK(r.source->reads == 1);
  r.driver->step(r.t0 + 5s);  // a claim or a fill's progress, no change
  CHECK(r.source->reads == 2);

  // Filled: a minute apart again.
  r.source->filling = false;
  r.driver->step(r.t0 + 10s);
  CHECK(r.source->reads == 3);
  r.driver->step(r.t0 + 15s);
  CHECK(r.source->reads == 3);
  r.driver->step(r.t0 + 70s);
  CHECK(r.source->reads == 4);
}

TEST_CASE("the driver reads the views again just after the UTC hour ends, change or not",
          "[live]") {
  DriverRig r;
  r.until_hour_ends = 10s;
  r.driver->step(r.t0);
  CHECK(r.source->reads == 1);
  r.driver->step(r.t0 + 10s);
  CHECK(r.source->reads == 1);
  r.until_hour_ends = 1h;
  r.driver->step(r.t0 + 10s + 250ms);
  CHECK(r.source->reads == 2);
  // Then a minute apart again.
  r.driver->step(r.t0 + 60s);
  CHECK(r.source->reads == 2);
  r.driver->step(r.t0 + 70s + 250ms);
  CHECK(r.source->reads == 3);
}

TEST_CASE("the time to the end of the UTC hour is within an hour", "[live]") {
  const auto left = ms_until_utc_hour_ends();
  CHECK(left > 0ms);
  CHECK(left <= 1h);
}
