// The change topic's consumer sending its batches' deliveries itself
// (libs/webhooks/src/direct.hpp): a delivery that can go at once is one
// row, written delivered, that no worker claims; a failure is stored as a
// worker stores it, and what follows it waits in the queue behind it; a
// receiver slower than the batch's budget goes through the workers.

#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <pqxx/pqxx>
#include <thread>

#include "changes.hpp"
#include "harness.hpp"
#include "pipeline.hpp"
#include "receiver.hpp"
#include "webhooks.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::seconds;

namespace {

// Inserts item `id` in a transaction of its own.
void insert_one(const Pipeline& p, pqxx::connection& c, int id) {
  pqxx::work tx(c);
  tx.exec("INSERT INTO " + tx.quote_name(p.schema) + ".items VALUES (" + std::to_string(id) +
          ", 'x', 1)");
  tx.commit();
}

// Enqueues delivery `id` to `endpoint` as an earlier batch would have, with
// `columns` and `values` (", attempts", ", 1") besides: enqueued "later"
// than any caught-up time the marker writes, so that only a read mark at
// or past its id releases it.
void enqueue_held_back(const Pipeline& p, pqxx::connection& c, std::int64_t endpoint,
                       const std::string& id, const std::string& columns = "",
                       const std::string& values = "") {
  pqxx::work tx(c);
  tx.exec_params("INSERT INTO " + tx.quote_name(p.schema) +
                     ".webhook_deliveries (endpoint_id, change_id, body, committed_at, "
                     "enqueued_at" +
                     columns + ") VALUES ($1, $2, $3, now(), now() + interval '1 hour'" + values +
                     ")",
                 endpoint, id, R"({"id":")" + id + R"(","op":"c"})");
  tx.commit();
}

// Once `hooks` serves its metrics, item 1 inserted and its change sent to
// "/hook", the only one there; returns its id.
std::string send_first(ItemsWebhooks& w, const Child& hooks, pqxx::connection& c) {
  REQUIRE(
      eventually([&] { return metric_of(hooks, "millrace_webhooks_batch_requests_total") == 0; },
                 seconds(60)));
  insert_one(w.p, c, 1);
  REQUIRE(eventually([&] { return w.rx.accepted_ids("/hook").size() == 1; }, seconds(60)));
  return w.rx.accepted_ids("/hook").front();
}

}  // namespace

TEST_CASE("a batch sends its deliveries itself: one row each, delivered at once, no claim",
          "[webhooks-direct]") {
  // The same changes with the consumer's sends on (the default) and off:
  // the claims and the consumer's own requests tell which path they took.
  for (const bool direct : {true, false}) {
    INFO("direct: " << direct);
    ItemsWebhooks w(direct ? "it_whd" : "it_whq");
    w.endpoint("/hook");
    std::map<std::string, std::string> env;
    if (!direct) env["MILLRACE_WEBHOOKS_DIRECT_MS"] = "0";
    auto hooks = w.start("1s", env);
    const auto metric = [&](const std::string& name) { return metric_of(hooks, name); };
    const auto claimed = [&] {
      return metric_of(hooks, "millrace_webhooks_claims_total", {{"found", "yes"}});
    };
    REQUIRE(eventually([&] { return metric("millrace_webhooks_batch_requests_total") == 0; },
                       seconds(60)));
    pqxx::connection c(w.p.env.pg);
    // One change at a time, each sent before the next: every partition is
    // read to its end when a batch begins, so the marks release each at once.
    constexpr int kChanges = 12;
    for (int id = 1; id <= kChanges; ++id) {
      insert_one(w.p, c, id);
      REQUIRE(eventually([&] { return w.rx.accepted_ids("/hook").size() == std::size_t(id); },
                         seconds(60)));
    }
    const auto records = w.rig.read_all(kChanges);
    const auto report = order_report(w.rx.accepted_ids("/hook"), records);
    CHECK(report.missing == 0);
    CHECK(report.repeats == 0);
    CHECK(report.out_of_commit_order == 0);
    for (const auto& r : w.rx.requests("/hook")) CHECK(r.verified_with == std::vector<size_t>{0});
    CHECK(sql_count(w.p,
                    "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered' AND "
                    "attempts = 1 AND body = '' AND last_status = 200 AND delivered_at IS NOT "
                    "NULL AND delivered_at >= enqueued_at") == kChanges);
    if (direct) {
      CHECK(metric("millrace_webhooks_batch_requests_total") == kChanges);
      CHECK(claimed() == 0);
    } else {
      CHECK(metric("millrace_webhooks_batch_requests_total") == 0);
      CHECK(claimed() >= 1);
    }
    CHECK(metric("millrace_webhooks_attempts_total") == kChanges);
    CHECK(stop_cleanly({&hooks, &w.feed}));
  }
}

TEST_CASE(
    "a batch's failed request is stored as a worker's, the queue waits behind it, and 410 "
    "disables",
    "[webhooks-direct]") {
  ItemsWebhooks w("it_whf");
  // The third change's first attempt is refused; "/gone" answers 410 to
  // the third change it gets.
  std::atomic<int> flaky_seen{0}, gone_seen{0};
  std::string third;
  std::mutex third_mutex;
  w.rx.script("/flaky", [&](const Received& r, int repeats) {
    std::lock_guard lock(third_mutex);
    if (repeats == 0 && ++flaky_seen == 3) third = r.id;
    return Answer{repeats == 0 && r.id == third ? 500 : 200};
  });
  w.rx.script("/gone", [&](const Received&, int) { return Answer{++gone_seen == 3 ? 410 : 200}; });
  const auto flaky = w.endpoint("/flaky");
  const auto gone = w.endpoint("/gone");
  auto hooks = w.start("1s");
  REQUIRE(
      eventually([&] { return metric_of(hooks, "millrace_webhooks_batch_requests_total") == 0; },
                 seconds(60)));
  pqxx::connection c(w.p.env.pg);
  for (int id = 1; id <= 3; ++id) {
    insert_one(w.p, c, id);
    REQUIRE(eventually([&] { return flaky_seen.load() == id; }, seconds(60)));
  }
  const auto row = [&](const std::string& what, std::int64_t endpoint) {
    std::lock_guard lock(third_mutex);
    return sql_text(w.p, "SELECT " + what + " FROM webhook_deliveries WHERE endpoint_id = " +
                             std::to_string(endpoint) + " AND change_id = '" + third + "'");
  };
  // The refusal, as stored from the batch: one attempt, its status, a
  // retry due, the failing clock started. Or already retried by a worker.
  const auto stored = row("status || ' ' || attempts || ' ' || last_status", flaky);
  CHECK((stored == "pending 1 500" || stored == "delivered 2 200"));
  // "/gone" disabled the endpoint at its third change, kept pending.
  REQUIRE(eventually(
      [&] {
        return sql_text(w.p, "SELECT active::text FROM webhook_endpoints WHERE id = " +
                                 std::to_string(gone)) == "false";
      },
      seconds(30)));
  CHECK(row("status || ' ' || attempts || ' ' || last_status", gone) == "pending 1 410");
  // Later changes join the queue behind the refused one, which a worker
  // retries first: commit order holds.
  for (int id = 4; id <= 6; ++id) insert_one(w.p, c, id);
  REQUIRE(eventually([&] { return w.rx.accepted_ids("/flaky").size() == 6; }, seconds(60)));
  const auto records = w.rig.read_all(6);
  const auto report = order_report(w.rx.accepted_ids("/flaky"), records);
  CHECK(report.missing == 0);
  CHECK(report.out_of_commit_order == 0);
  CHECK(row("status || ' ' || attempts", flaky) == "delivered 2");
  CHECK(sql_text(w.p,
                 "SELECT coalesce(failing_since::text, 'none') FROM webhook_endpoints WHERE "
                 "id = " +
                     std::to_string(flaky)) == "none");
  CHECK(sql_count(w.p, "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = " +
                           std::to_string(gone) + " AND status = 'pending'") == 4);
  CHECK(stop_cleanly({&hooks, &w.feed}));
}

TEST_CASE("a receiver slower than a batch's budget goes through the workers, losing nothing",
          "[webhooks-direct]") {
  ItemsWebhooks w("it_whs");
  // The first request waits 2 s before it is answered: past the budget.
  std::atomic<int> arrivals{0};
  w.rx.on_arrival([&](const std::string&) {
    if (arrivals++ == 0) std::this_thread::sleep_for(seconds(2));
  });
  // In key order, which the read marks do not hold back: the batch sends
  // its changes whichever partitions they are on.
  w.endpoint("/slow", {"--ordering", "key"});
  auto hooks = w.start(
      "1s", {{"MILLRACE_WEBHOOKS_DIRECT_MS", "300"}, {"MILLRACE_WEBHOOKS_TIMEOUT_MS", "10000"}});
  const auto metric = [&](const std::string& name) { return metric_of(hooks, name); };
  REQUIRE(eventually([&] { return metric("millrace_webhooks_batch_requests_total") == 0; },
                     seconds(60)));
  insert_items(w.p, 1, 4, "'x', 1");
  REQUIRE(eventually(
      [&] {
        const auto ids = w.rx.accepted_ids("/slow");
        return std::set<std::string>(ids.begin(), ids.end()).size() == 3;
      },
      seconds(60)));
  INFO("deliveries: " << sql_text(w.p,
                                  "SELECT string_agg(change_id || ' ' || status || ' ' || attempts "
                                  "|| ' ' || coalesce(last_error, '-'), '; ') FROM "
                                  "webhook_deliveries"));
  CHECK(metric("millrace_webhooks_batch_budget_spent_total") == 1);
  CHECK(metric("millrace_webhooks_batch_requests_cut_total") == 1);
  // The cut request was no attempt: the worker's is the first stored.
  CHECK(sql_count(w.p, "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'") == 3);
  CHECK(sql_count(w.p, "SELECT max(attempts) FROM webhook_deliveries") == 1);
  check_each_once_in_key_order(w.rx.accepted_ids("/slow"), w.rig.read_all(3));
  CHECK(stop_cleanly({&hooks, &w.feed}));
}

TEST_CASE(
    "a batch takes over a queue of deliveries the marks held back, and not one that was "
    "attempted or had a request cut",
    "[webhooks-direct]") {
  // One partition: its read mark alone decides what commit order releases.
  ItemsWebhooks w("it_wht", 1);
  const auto endpoint = std::to_string(w.endpoint("/hook"));
  auto hooks = w.start("1s");
  const auto metric = [&](const std::string& name) { return metric_of(hooks, name); };
  pqxx::connection c(w.p.env.pg);
  const auto first = send_first(w, hooks, c);
  // A delivery an earlier batch enqueued and the marks held back: the
  // second change of the first one's transaction (a change id above the
  // partition's mark), enqueued "later" than any caught-up time the marker
  // writes, so that only a mark at or past its id releases it. No worker
  // may claim it; the next batch's mark releases it.
  const auto held_back = first.substr(0, 17) + "00000001";
  const auto enqueue = [&](const std::string& id, const std::string& extra_columns,
                           const std::string& extra_values) {
    enqueue_held_back(w.p, c, std::stoll(endpoint), id, extra_columns, extra_values);
  };
  enqueue(held_back, "", "");
  std::this_thread::sleep_for(seconds(2));  // the workers' chance to (wrongly) take it
  CHECK(w.rx.accepted_ids("/hook").size() == 1);
  insert_one(w.p, c, 2);
  REQUIRE(eventually([&] { return w.rx.accepted_ids("/hook").size() == 3; }, seconds(60)));
  const auto ids = w.rx.accepted_ids("/hook");
  CHECK(ids[1] == held_back);
  CHECK(ids[2] > held_back);
  CHECK(metric("millrace_webhooks_batch_requests_total") == 3);
  CHECK(metric_of(hooks, "millrace_webhooks_claims_total", {{"found", "yes"}}) == 0);
  CHECK(sql_text(w.p,
                 "SELECT status || ' ' || attempts || ' ' || last_status || ' ' || "
                 "(body = '')::text FROM webhook_deliveries WHERE change_id = '" +
                     held_back + "'") == "delivered 1 200 true");

  // A pending delivery already attempted (a retry due in an hour) keeps
  // its queue with the workers: the next change waits behind it, pending.
  const auto retried = ids[2].substr(0, 17) + "00000001";
  enqueue(retried, ", attempts, next_attempt_at", ", 1, now() + interval '1 hour'");
  insert_one(w.p, c, 3);
  REQUIRE(eventually(
      [&] {
        return sql_count(w.p,
                         "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' "
                         "AND attempts = 0") == 1;
      },
      seconds(60)));
  std::this_thread::sleep_for(seconds(1));
  CHECK(w.rx.accepted_ids("/hook").size() == 3);
  CHECK(metric("millrace_webhooks_batch_requests_total") == 3);
  // Due now: a worker sends both, the retry first.
  {
    pqxx::work tx(c);
    tx.exec_params("UPDATE " + tx.quote_name(w.p.schema) +
                       ".webhook_deliveries SET next_attempt_at = now() WHERE change_id = $1",
                   retried);
    tx.commit();
  }
  REQUIRE(eventually([&] { return w.rx.accepted_ids("/hook").size() == 5; }, seconds(60)));
  CHECK(w.rx.accepted_ids("/hook")[3] == retried);
  CHECK(sql_count(w.p, "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'") == 5);

  // A delivery whose request a batch's budget cut (not an attempt, but its
  // receiver was slow) keeps its queue with the workers too: held back
  // like the first, the next batch's mark releases it, and a worker sends
  // it and the next change.
  const auto claimed_before =
      metric_of(hooks, "millrace_webhooks_claims_total", {{"found", "yes"}});
  const auto cut = w.rx.accepted_ids("/hook")[4].substr(0, 17) + "00000001";
  enqueue(cut, ", last_attempt_at, last_error",
          ", now(), 'the request outlasted the batch''s budget'");
  std::this_thread::sleep_for(seconds(1));
  CHECK(w.rx.accepted_ids("/hook").size() == 5);
  insert_one(w.p, c, 4);
  REQUIRE(eventually([&] { return w.rx.accepted_ids("/hook").size() == 7; }, seconds(60)));
  CHECK(w.rx.accepted_ids("/hook")[5] == cut);
  CHECK(metric("millrace_webhooks_batch_requests_total") == 3);
  CHECK(metric_of(hooks, "millrace_webhooks_claims_total", {{"found", "yes"}}) > claimed_before);
  CHECK(sql_count(w.p, "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'") == 7);
  CHECK(stop_cleanly({&hooks, &w.feed}));
}

TEST_CASE("a request a batch cut in a queue it took over is marked on that row, for the workers",
          "[webhooks-direct]") {
  // The receiver's second request (the batch's of the delivery it took
  // over) outlasts the batch's budget; its third (the workers' of the same
  // delivery) is held until the row has been read. Before the receiver,
  // which calls on them until it stops.
  std::promise<void> read;
  const std::shared_future<void> row_read = read.get_future().share();
  std::atomic<int> arrivals{0};
  ItemsWebhooks w("it_whu", 1);
  w.rx.on_arrival([&arrivals, row_read](const std::string&) {
    const int n = ++arrivals;
    if (n == 2) std::this_thread::sleep_for(seconds(2));
    if (n == 3) row_read.wait_for(seconds(60));
  });
  const auto endpoint = w.endpoint("/hook");
  auto hooks = w.start(
      "1s", {{"MILLRACE_WEBHOOKS_DIRECT_MS", "300"}, {"MILLRACE_WEBHOOKS_TIMEOUT_MS", "10000"}});
  const auto metric = [&](const std::string& name) { return metric_of(hooks, name); };
  pqxx::connection c(w.p.env.pg);
  const auto first = send_first(w, hooks, c);
  const auto held_back = first.substr(0, 17) + "00000001";
  enqueue_held_back(w.p, c, endpoint, held_back);
  insert_one(w.p, c, 2);
  REQUIRE(eventually([&] { return arrivals.load() >= 3; }, seconds(60)));
  // The row as the batch left it: pending, not attempted, the cut its last
  // error; the change behind it waits in the queue.
  const auto row = [&](const std::string& id) {
    return sql_text(w.p,
                    "SELECT status || ' ' || attempts || ' ' || (last_attempt_at IS NOT "
                    "NULL)::text || ' ' || coalesce(last_error, '-') FROM webhook_deliveries "
                    "WHERE change_id = '" +
                        id + "'");
  };
  CHECK(row(held_back).rfind("pending 0 true the request outlasted the batch's budget", 0) == 0);
  CHECK(metric("millrace_webhooks_batch_requests_cut_total") == 1);
  // The cut request was no attempt: the batch's first alone is counted.
  CHECK(metric("millrace_webhooks_batch_requests_total") == 1);
  // The cut request answered too (its receiver took it: a repeat follows).
  REQUIRE(eventually([&] { return w.rx.accepted_ids("/hook").size() == 2; }, seconds(60)));
  read.set_value();
  REQUIRE(eventually(
      [&] {
        return sql_count(w.p,
                         "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'") == 3;
      },
      seconds(60)));
  CHECK(row(held_back) == "delivered 1 true -");
  // The workers sent it again, before the change behind it.
  const std::vector<std::string> expected = {first, held_back, held_back};
  auto ids = w.rx.accepted_ids("/hook");
  REQUIRE(ids.size() == 4);
  CHECK(ids.back() > held_back);
  ids.pop_back();
  CHECK(ids == expected);
  CHECK(stop_cleanly({&hooks, &w.feed}));
}
