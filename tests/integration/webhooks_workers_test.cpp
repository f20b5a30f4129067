// millrace-webhooks' own mechanics end to end on the test stack: how its
// idle workers are woken (the consumer's commit in memory, another
// replica's NOTIFY, the listener reconnecting), a worker keeping a busy
// queue, and an idle consumer counted as caught up behind the change
// topic's transaction markers.
#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "changes.hpp"
#include "harness.hpp"
#include "http_client.hpp"
#include "millrace/webhooks/signature.hpp"
#include "pipeline.hpp"
#include "receiver.hpp"
#include "scrape.hpp"
#include "webhooks.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::seconds;

TEST_CASE("enqueued deliveries wake the idle workers at once, also after the listener reconnects",
          "[webhooks-notify]") {
  ItemsWebhooks w("it_whn");
  w.endpoint("/all");
  // Idle workers poll only every 10 minutes: within this test, only a
  // wake-up can send them to the queue. The consumer enqueues every
  // delivery: one it sends from its batch itself (integration.webhooks-direct)
  // needs no worker, and whether it may go at once is up to the read marks'
  // timing, so the commit would wake the workers or not by chance.
  auto hooks = w.start(
      "1s", {{"MILLRACE_WEBHOOKS_POLL_MS", "600000"}, {"MILLRACE_WEBHOOKS_DIRECT_MS", "0"}});
  const auto metric = [&](const std::string& name) { return metric_of(hooks, name); };
  // At a failure, where the last insert's commit lies in the WAL, beside
  // the slot's note (ChangeFeedRig): sent past it or not.
  std::string inserted_before = "(no insert yet)";
  const auto note =
      add_failure_note([&] { return "the last insert committed before WAL " + inserted_before; });
  const auto insert = [&](int id) {
    pqxx::connection c(w.p.env.pg);
    {
      pqxx::work tx(c);
      tx.exec("INSERT INTO " + tx.quote_name(w.p.schema) + ".items VALUES (" + std::to_string(id) +
              ", 'x', 1)");
      tx.commit();
    }
    pqxx::nontransaction tx(c);
    inserted_before = tx.exec1("SELECT pg_current_wal_lsn()::text")[0].c_str();
  };
  // What another replica's consumer sends as it enqueues: a NOTIFY, here
  // from a session of the test's own.
  const auto notify_as_another_replica = [&] {
    pqxx::connection c(w.p.env.pg);
    pqxx::nontransaction tx(c);
    tx.exec("SELECT pg_notify('millrace_webhooks', " + tx.quote(w.p.schema) + ")");
  };
  REQUIRE(
      eventually([&] { return metric("millrace_webhooks_wakeup_listening") == 1; }, seconds(60)));
  // This replica's own consumer wakes its workers in memory as its batch
  // commits.
  const double commit_woken_at_start = metric("millrace_webhooks_commit_wakeups_total");
  insert(1);
  REQUIRE(eventually([&] { return w.rx.accepted_ids("/all").size() == 1; }, seconds(60)));
  CHECK(metric("millrace_webhooks_commit_wakeups_total") > commit_woken_at_start);
  // Another replica's enqueueing wakes them through the listener.
  const double woken_at_start = metric("millrace_webhooks_wakeups_total");
  notify_as_another_replica();
  CHECK(eventually([&] { return metric("millrace_webhooks_wakeups_total") > woken_at_start; },
                   seconds(30)));

  // The listener's connection killed: it reconnects, and wake-ups go on.
  // Only this service's: other tests' webhooks listen in the same database
  // (CI runs them side by side), and killing theirs would be their fault.
  {
    pqxx::connection c(w.p.env.pg);
    pqxx::nontransaction tx(c);
    int killed = 0;
    for (const auto& row :
         tx.exec("SELECT pid, client_port FROM pg_stat_activity WHERE application_name = "
                 "'millrace-webhooks-listener' AND datname = current_database()")) {
      if (pid_of_client_port(row[1].as<int>()) != hooks.pid()) continue;
      killed +=
          tx.exec1("SELECT pg_terminate_backend(" + row[0].as<std::string>() + ")")[0].as<bool>();
    }
    REQUIRE(killed == 1);
  }
  // The loss is counted: the listening gauge is 0 only until the first
  // reconnect, 200 ms later, which a scrape can fall between (CI run 27).
  REQUIRE(eventually([&] { return metric("millrace_webhooks_wakeup_listener_lost_total") >= 1; },
                     seconds(30)));
  REQUIRE(
      eventually([&] { return metric("millrace_webhooks_wakeup_listening") == 1; }, seconds(60)));
  const double woken_after_reconnect = metric("millrace_webhooks_wakeups_total");
  notify_as_another_replica();
  CHECK(
      eventually([&] { return metric("millrace_webhooks_wakeups_total") > woken_after_reconnect; },
                 seconds(30)));
  insert(2);
  REQUIRE(eventually([&] { return w.rx.accepted_ids("/all").size() == 2; }, seconds(60)));

  // An endpoint whose queue another transaction is adding to is still
  // claimed: every enqueueing transaction holds a KEY SHARE lock on its
  // endpoints (the foreign key's check) until it commits, as this one does,
  // and under load the consumer's batches follow one another.
  {
    pqxx::connection c(w.p.env.pg);
    pqxx::work enqueuing(c);
    enqueuing.exec("SELECT 1 FROM " + enqueuing.quote_name(w.p.schema) +
                   ".webhook_endpoints FOR KEY SHARE");
    insert(3);
    CHECK(eventually([&] { return w.rx.accepted_ids("/all").size() == 3; }, seconds(60)));
  }
  CHECK(stop_cleanly({&hooks, &w.feed}));
}

// A worker that holds a busy endpoint's queue keeps it: storing the
// deliveries it sent reads the queue's next ones, without claiming it again.
// The first request is held until nine more deliveries wait behind it, so
// storing it has to find them. In key order, which the read marks do not
// hold back, they are all due at once.
TEST_CASE("a worker keeps a busy queue, reading its next deliveries as it stores the last",
          "[webhooks-continue]") {
  Pipeline p("it_whc");
  migrate_with_table(p, "items (id int PRIMARY KEY, name text, qty int)");
  ChangeFeedRig rig(p, {"items"});
  auto feed = rig.start("changefeed");
  rig.wait_streaming();
  // Before the receiver, which calls on them until it stops.
  std::promise<void> answer_first;
  const auto first_answered = answer_first.get_future().share();
  std::atomic<int> arrivals{0};
  Receiver rx;
  const auto secret = webhooks::new_secret();
  rx.set_secrets("/busy", {secret});
  rx.on_arrival([&](const std::string&) {
    if (arrivals++ == 0) first_answered.wait();
  });
  // Released however the test ends, so that the receiver can stop.
  struct Release {
    std::promise<void>& p;
    bool done = false;
    ~Release() {
      if (!done) p.set_value();
    }
  } release{answer_first};
  add_endpoint(p, rx.url("/busy"), secret, {"--ordering", "key"});
  // A request held this long must not time out meanwhile. The consumer
  // sends nothing itself (integration.webhooks-direct tests that): the
  // first request is a worker's.
  auto hooks = start_webhooks(
      p, rig, "webhooks", "1s",
      {{"MILLRACE_WEBHOOKS_TIMEOUT_MS", "120000"}, {"MILLRACE_WEBHOOKS_DIRECT_MS", "0"}});
  const auto metric = [&](const std::string& name) { return metric_of(hooks, name); };
  pqxx::connection c(p.env.pg);
  const auto insert = [&](int id) {
    pqxx::work tx(c);
    tx.exec("INSERT INTO " + tx.quote_name(p.schema) + ".items VALUES (" + std::to_string(id) +
            ", 'x', 1)");
    tx.commit();
  };
  const auto pending = [&] {
    return sql_count(p, "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'");
  };
  REQUIRE(eventually([&] { return metric("millrace_webhooks_claims_continued_total") == 0; },
                     seconds(60)));
  insert(1);
  REQUIRE(eventually([&] { return arrivals.load() == 1; }, seconds(60)));
  for (int id = 2; id <= 10; ++id) insert(id);
  // The first is pending until its answer is stored.
  REQUIRE(eventually([&] { return pending() == 10; }, seconds(60)));
  release.done = true;
  answer_first.set_value();
  REQUIRE(eventually([&] { return rx.accepted_ids("/busy").size() >= 10; }, seconds(60)));
  CHECK(eventually([&] { return metric("millrace_webhooks_claims_continued_total") >= 1; },
                   seconds(30)));
  CHECK(eventually([&] { return pending() == 0; }, seconds(30)));
  const auto ids = rx.accepted_ids("/busy");
  CHECK(ids.size() == 10);
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 10);
  CHECK(arrivals.load() == 10);
  CHECK(stop_cleanly({&hooks, &feed}));
}

// The change topic ends with a transaction marker, one offset past the last
// record: a consumer that read everything must count as caught up there,
// not as a partition one record behind that never moves (a stall warning
// and a re-assign every stall timeout, on every idle webhooks service).
TEST_CASE("an idle consumer of the change topic is caught up, not stalled, behind its last marker",
          "[webhooks-idle]") {
  ItemsWebhooks w("it_whi");
  w.endpoint("/all");
  auto hooks = w.start("1s", {{"MILLRACE_STALL_TIMEOUT_S", "5"}});
  insert_items(w.p, 1, 9, "'x', 1");
  REQUIRE(eventually([&] { return w.rx.accepted_ids("/all").size() == 8; }, seconds(60)));
  // Three stall timeouts of idleness: nothing may be reported stalled.
  std::this_thread::sleep_for(seconds(15));
  const auto samples = parse_exposition(http_get(hooks.metrics_port, "/metrics"));
  CHECK(sum_of(samples, "millrace_partition_stalled_seconds") == 0);
  // Every record committed: no lag, although each partition's log ends
  // with a transaction's marker past the last record.
  CHECK(sum_of(samples, "millrace_consumer_lag_records") == 0);
  const auto log = read_file(w.p.log_dir + "/" + w.p.topic + ".webhooks.log");
  CHECK(log.find("is stalled") == std::string::npos);
  CHECK(log.find("re-assigning") == std::string::npos);
  CHECK(stop_cleanly({&hooks, &w.feed}));
}
