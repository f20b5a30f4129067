// millrace-webhooks end to end on the test stack: edits made through SQL
// flow through the change feed to signed webhooks. One run serves several
// endpoints at once, each with its own receiver behaviour: all changes, a
// filter, 500 then 200, 429 with Retry-After, 410, a receiver that is down
// for a while, and a secret rotated mid-run.
#include "webhooks.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <thread>

#include "changes.hpp"
#include "harness.hpp"
#include "http_client.hpp"
#include "millrace/webhooks/signature.hpp"
#include "pipeline.hpp"
#include "receiver.hpp"
#include "scrape.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::seconds;

namespace {

// Inserts ids [from, to), updates every other one, deletes every fifth:
// each statement its own transaction, so each is one change.
void edit_items(const Pipeline& p, int from, int to) {
  pqxx::connection c(p.env.pg);
  const auto one = [&](const std::string& statement) {
    pqxx::work tx(c);
    tx.exec("SET LOCAL search_path TO " + p.schema);
    tx.exec(statement);
    tx.commit();
  };
  for (int i = from; i < to; ++i) {
    one("INSERT INTO items VALUES (" + std::to_string(i) + ", 'item', 1)");
  }
  for (int i = from; i < to; i += 2)
    one("UPDATE items SET qty = qty + 1 WHERE id = " + std::to_string(i));
  for (int i = from; i < to; i += 5) one("DELETE FROM items WHERE id = " + std::to_string(i));
}

std::vector<std::string> ids_with_ops(const std::vector<ChangeRecord>& records,
                                      const std::set<std::string>& ops) {
  std::vector<std::string> out;
  for (const auto& r : records) {
    if (ops.count(r.op) != 0) out.push_back(r.id);
  }
  return out;
}

}  // namespace

TEST_CASE(
    "signed webhooks for every matching change: retries, Retry-After, 410, outages, "
    "rotation",
    "[webhooks]") {
  Pipeline p("it_wh");
  // The schema migrated, with a table of its own that the change feed
  // publishes, streaming.
  migrate_with_table(p, "items (id int PRIMARY KEY, name text, qty int)");
  ChangeFeedRig rig(p, {"items"});
  auto feed = rig.start("changefeed");
  rig.wait_streaming();

  Receiver rx;
  const int down_port = free_port();  // a receiver that starts later
  std::map<std::string, std::string> secret;
  std::map<std::string, std::int64_t> endpoint;
  for (const std::string path : {"/all", "/filtered", "/flaky", "/slow", "/gone", "/rotate"}) {
    secret[path] = webhooks::new_secret();
    rx.set_secrets(path, {secret[path]});
  }
  secret["/down"] = webhooks::new_secret();
  endpoint["/all"] = add_endpoint(p, rx.url("/all"), secret["/all"]);
  endpoint["/filtered"] = add_endpoint(p, rx.url("/filtered"), secret["/filtered"],
                                       {"--tables", "items", "--ops", "c,d"});
  endpoint["/flaky"] = add_endpoint(p, rx.url("/flaky"), secret["/flaky"]);
  endpoint["/slow"] = add_endpoint(p, rx.url("/slow"), secret["/slow"]);
  endpoint["/gone"] = add_endpoint(p, rx.url("/gone"), secret["/gone"]);
  endpoint["/rotate"] = add_endpoint(p, rx.url("/rotate"), secret["/rotate"]);
  endpoint["/down"] =
      add_endpoint(p, "http://127.0.0.1:" + std::to_string(down_port) + "/down", secret["/down"]);
  // A filter on another table: matches nothing here.
  add_endpoint(p, rx.url("/none"), webhooks::new_secret(), {"--tables", "store_events"});

  rx.script("/flaky", [](const Received&, int repeats) {
    return Answer{repeats == 0 ? 500 : 200, std::nullopt};
  });
  int slow_requests = 0;
  rx.script("/slow", [&](const Received&, int) {
    return ++slow_requests == 1 ? Answer{429, 3} : Answer{200, std::nullopt};
  });
  rx.script("/gone", [](const Received&, int) { return Answer{410, std::nullopt}; });

  auto hooks = start_webhooks(p, rig, "webhooks", "300ms,1s,2s,4s,8s,16s,32s,60s");

  // Phase 1, then a secret rotation, then phase 2 with the down receiver up.
  edit_items(p, 1, 101);  // 100 inserts, 50 updates, 20 deletes
  REQUIRE(eventually([&] { return rx.accepted_ids("/rotate").size() >= 170; }, seconds(180)));
  const auto rotated =
      webhooks_cli(p, {"rotate-secret", "--endpoint", std::to_string(endpoint["/rotate"])});
  const auto fresh = rotated.substr(rotated.find("secret: ") + 8, 50);
  REQUIRE(webhooks::is_secret(fresh));
  rx.set_secrets("/rotate", {fresh, secret["/rotate"]});
  const std::size_t before_rotation = rx.requests("/rotate").size();

  Receiver down(down_port);  // down until now: its backlog is phase 1
  down.set_secrets("/down", {secret["/down"]});
  edit_items(p, 101, 201);

  const auto records = rig.read_all(340);
  REQUIRE(records.size() == 340);
  const auto all_ids = ids_with_ops(records, {"c", "u", "d"});
  for (const std::string path : {"/all", "/flaky", "/slow", "/rotate"}) {
    REQUIRE(
        eventually([&] { return rx.accepted_ids(path).size() >= all_ids.size(); }, seconds(240)));
  }
  REQUIRE(eventually([&] { return down.accepted_ids("/down").size() >= all_ids.size(); },
                     seconds(240)));
  const auto filtered_ids = ids_with_ops(records, {"c", "d"});
  REQUIRE(eventually([&] { return rx.accepted_ids("/filtered").size() >= filtered_ids.size(); },
                     seconds(120)));
  CHECK(stop_cleanly({&hooks}));
  CHECK(stop_cleanly({&feed}));

  {  // every request is signed, and every matching change arrives once, in key order
    for (const std::string path : {"/all", "/filtered", "/flaky", "/slow", "/gone", "/rotate"}) {
      INFO(path);
      for (const auto& r : rx.requests(path)) CHECK_FALSE(r.verified_with.empty());
    }
    for (const auto& r : down.requests("/down")) CHECK_FALSE(r.verified_with.empty());
    CHECK(check_each_once_in_key_order(rx.accepted_ids("/all"), records) == 0);
    CHECK(rx.requests("/all").size() == all_ids.size());
    std::vector<ChangeRecord> c_and_d;
    for (const auto& r : records) {
      if (r.op == "c" || r.op == "d") c_and_d.push_back(r);
    }
    CHECK(check_each_once_in_key_order(rx.accepted_ids("/filtered"), c_and_d) == 0);
    CHECK(rx.requests("/filtered").size() == filtered_ids.size());
    CHECK(rx.requests("/none").empty());
    // The body is a Standard Webhooks payload around the change.
    const auto first = rx.requests("/all").front();
    CHECK_THAT(first.body, Catch::StartsWith("{\"type\":\"" + p.schema + ".items.created\""));
    CHECK_THAT(first.body, Catch::Contains("\"data\":{\"id\":\"" + first.id + "\""));
  }
  {  // 500 then 200: each change is retried once and still arrives in order
    const auto requests = rx.requests("/flaky");
    CHECK(requests.size() == 2 * all_ids.size());
    CHECK(check_each_once_in_key_order(rx.accepted_ids("/flaky"), records) == 0);
    for (std::size_t i = 0; i + 1 < requests.size(); i += 2) {
      CHECK(requests[i].id == requests[i + 1].id);
      CHECK(requests[i].answered == 500);
      CHECK(requests[i + 1].answered == 200);
    }
  }
  {  // 429 with Retry-After: 3 holds the next attempt back at least 3 s
    const auto requests = rx.requests("/slow");
    REQUIRE(requests.size() == all_ids.size() + 1);
    CHECK(requests[0].answered == 429);
    CHECK(requests[1].id == requests[0].id);
    CHECK(requests[1].at - requests[0].at >= seconds(3));
    CHECK(check_each_once_in_key_order(rx.accepted_ids("/slow"), records) == 0);
  }
  {  // a delivered row keeps its record, not its body; a waiting one keeps its body
    const auto all = std::to_string(endpoint["/all"]);
    CHECK(sql_count(p, "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = " + all +
                           " AND status = 'delivered' AND body = '' AND attempts = 1 AND "
                           "last_status = 200 AND delivered_at IS NOT NULL") ==
          static_cast<std::int64_t>(all_ids.size()));
    CHECK(sql_count(p, "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = " +
                           std::to_string(endpoint["/gone"]) + " AND body LIKE '{%'") ==
          static_cast<std::int64_t>(all_ids.size()));
  }
  {  // 410 disables the endpoint after one request; its deliveries wait
    CHECK(rx.requests("/gone").size() == 1);
    const auto id = std::to_string(endpoint["/gone"]);
    CHECK(sql_count(p, "SELECT count(*) FROM webhook_endpoints WHERE id = " + id +
                           " AND NOT active AND disabled_reason LIKE '%410%'") == 1);
    CHECK(sql_count(p, "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = " + id +
                           " AND status = 'pending'") == static_cast<std::int64_t>(all_ids.size()));
    CHECK_THAT(webhooks_cli(p, {"list"}), Catch::Contains("disabled: the receiver answered 410"));
  }
  {  // a receiver down for a while gets its backlog afterwards, in order
    CHECK(check_each_once_in_key_order(down.accepted_ids("/down"), records) == 0);
    CHECK(sql_count(p, "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = " +
                           std::to_string(endpoint["/down"]) + " AND attempts > 1") >= 1);
  }
  {  // a secret rotated mid-run: old and new both sign during the overlap
    const auto requests = rx.requests("/rotate");
    CHECK(check_each_once_in_key_order(rx.accepted_ids("/rotate"), records) == 0);
    REQUIRE(requests.size() > before_rotation);
    // Claims that began before the rotation still carry only the old one;
    // the last request certainly came after it.
    const auto& last = requests.back();
    CHECK(last.verified_with == std::vector<std::size_t>{0, 1});
    for (std::size_t i = 0; i < before_rotation; ++i) {
      CHECK(requests[i].verified_with == std::vector<std::size_t>{0});
    }
  }
}

TEST_CASE("enqueued deliveries wake the idle workers at once, also after the listener reconnects",
          "[webhooks-notify]") {
  Pipeline p("it_whn");
  migrate_with_table(p, "items (id int PRIMARY KEY, name text, qty int)");
  ChangeFeedRig rig(p, {"items"});
  auto feed = rig.start("changefeed");
  rig.wait_streaming();
  Receiver rx;
  const auto secret = webhooks::new_secret();
  rx.set_secrets("/all", {secret});
  add_endpoint(p, rx.url("/all"), secret);
  // Idle workers poll only every 10 minutes: within this test, only a
  // wake-up can send them to the queue.
  auto hooks = start_webhooks(p, rig, "webhooks", "1s", {{"MILLRACE_WEBHOOKS_POLL_MS", "600000"}});
  const auto metric = [&](const std::string& name) { return metric_of(hooks, name); };
  // At a failure, where the last insert's commit lies in the WAL, beside
  // the slot's note (ChangeFeedRig): sent past it or not.
  std::string inserted_before = "(no insert yet)";
  const auto note =
      add_failure_note([&] { return "the last insert committed before WAL " + inserted_before; });
  const auto insert = [&](int id) {
    pqxx::connection c(p.env.pg);
    {
      pqxx::work tx(c);
      tx.exec("INSERT INTO " + tx.quote_name(p.schema) + ".items VALUES (" + std::to_string(id) +
              ", 'x', 1)");
      tx.commit();
    }
    pqxx::nontransaction tx(c);
    inserted_before = tx.exec1("SELECT pg_current_wal_lsn()::text")[0].c_str();
  };
  // What another replica's consumer sends as it enqueues: a NOTIFY, here
  // from a session of the test's own.
  const auto notify_as_another_replica = [&] {
    pqxx::connection c(p.env.pg);
    pqxx::nontransaction tx(c);
    tx.exec("SELECT pg_notify('millrace_webhooks', " + tx.quote(p.schema) + ")");
  };
  REQUIRE(
      eventually([&] { return metric("millrace_webhooks_wakeup_listening") == 1; }, seconds(60)));
  // This replica's own consumer wakes its workers in memory as its batch
  // commits.
  const double commit_woken_at_start = metric("millrace_webhooks_commit_wakeups_total");
  insert(1);
  REQUIRE(eventually([&] { return rx.accepted_ids("/all").size() == 1; }, seconds(60)));
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
    pqxx::connection c(p.env.pg);
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
  REQUIRE(eventually([&] { return rx.accepted_ids("/all").size() == 2; }, seconds(60)));

  // An endpoint whose queue another transaction is adding to is still
  // claimed: every enqueueing transaction holds a KEY SHARE lock on its
  // endpoints (the foreign key's check) until it commits, as this one does,
  // and under load the consumer's batches follow one another.
  {
    pqxx::connection c(p.env.pg);
    pqxx::work enqueuing(c);
    enqueuing.exec("SELECT 1 FROM " + enqueuing.quote_name(p.schema) +
                   ".webhook_endpoints FOR KEY SHARE");
    insert(3);
    CHECK(eventually([&] { return rx.accepted_ids("/all").size() == 3; }, seconds(60)));
  }
  CHECK(stop_cleanly({&hooks, &feed}));
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
  Pipeline p("it_whi");
  migrate_with_table(p, "items (id int PRIMARY KEY, name text, qty int)");
  ChangeFeedRig rig(p, {"items"});
  auto feed = rig.start("changefeed");
  rig.wait_streaming();
  Receiver rx;
  const auto secret = webhooks::new_secret();
  rx.set_secrets("/all", {secret});
  add_endpoint(p, rx.url("/all"), secret);
  auto hooks = start_webhooks(p, rig, "webhooks", "1s", {{"MILLRACE_STALL_TIMEOUT_S", "5"}});
  insert_items(p, 1, 9, "'x', 1");
  REQUIRE(eventually([&] { return rx.accepted_ids("/all").size() == 8; }, seconds(60)));
  // Three stall timeouts of idleness: nothing may be reported stalled.
  std::this_thread::sleep_for(seconds(15));
  const auto samples = parse_exposition(http_get(hooks.metrics_port, "/metrics"));
  CHECK(sum_of(samples, "millrace_partition_stalled_seconds") == 0);
  // Every record committed: no lag, although each partition's log ends
  // with a transaction's marker past the last record.
  CHECK(sum_of(samples, "millrace_consumer_lag_records") == 0);
  const auto log = read_file(p.log_dir + "/" + p.topic + ".webhooks.log");
  CHECK(log.find("is stalled") == std::string::npos);
  CHECK(log.find("re-assigning") == std::string::npos);
  CHECK(stop_cleanly({&hooks, &feed}));
}

// Changes to many keys land on all four partitions of the change topic, and
// the service reads those partitions as they come: an endpoint in commit
// order (the default) must still get them in commit order across keys,
// while a receiver refuses first attempts and two members of the group
// share the partitions. One in key order beside it gets
// each key's changes in order, and says how far from commit order that is.
TEST_CASE("commit order across keys and partitions by default; key order on request",
          "[webhooks-order]") {
  Pipeline p("it_who");
  migrate_with_table(p, "accounts (id bigint PRIMARY KEY, v int)");
  ChangeFeedRig rig(p, {"accounts"});
  auto feed = rig.start("changefeed");
  rig.wait_streaming();

  Receiver rx;
  std::map<std::string, std::string> secret;
  for (const std::string path : {"/commit", "/key"}) {
    secret[path] = webhooks::new_secret();
    rx.set_secrets(path, {secret[path]});
    // The first attempt of about one change in seven is refused.
    rx.script(path, [](const Received& r, int repeats) {
      const bool refuse = repeats == 0 && std::hash<std::string>{}(r.id) % 7 == 0;
      return Answer{refuse ? 500 : 200, std::nullopt};
    });
  }
  add_endpoint(p, rx.url("/commit"), secret["/commit"]);
  add_endpoint(p, rx.url("/key"), secret["/key"], {"--ordering", "key"});
  CHECK_THAT(webhooks_cli(p, {"list"}), Catch::Contains("\tkey\tstandard\t-\t" + rx.url("/key")));
  CHECK_THAT(webhooks_cli(p, {"list"}),
             Catch::Contains("\tcommit\tstandard\t-\t" + rx.url("/commit")));
  // Two members of the group, each reading two of the four partitions:
  // each one's marks hold the other's deliveries until it has read past them.
  const std::string schedule = "100ms,200ms,500ms,1s,2s,4s,8s";
  auto hooks = start_webhooks(p, rig, "webhooks-1", schedule);
  auto hooks2 = start_webhooks(p, rig, "webhooks-2", schedule);

  // Three writers at once, each on 40 keys of its own, 100 transactions of
  // four rows each: 1,200 changes whose commits interleave.
  constexpr int kWriters = 3, kTransactions = 100, kRows = 4;
  constexpr std::size_t kTotal = kWriters * kTransactions * kRows;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      pqxx::connection c(p.env.pg);
      std::mt19937 rng(static_cast<unsigned>(w + 1));
      for (int t = 0; t < kTransactions; ++t) {
        std::set<int> keys;
        while (keys.size() < kRows) keys.insert(w * 100 + static_cast<int>(rng() % 40));
        std::string values;
        for (const int k : keys)
          values += (values.empty() ? "(" : ",(") + std::to_string(k) + ",0)";
        pqxx::work tx(c);
        tx.exec("INSERT INTO " + tx.quote_name(p.schema) + ".accounts VALUES " + values +
                " ON CONFLICT (id) DO UPDATE SET v = accounts.v + 1");
        tx.commit();
      }
    });
  }
  for (auto& w : writers) w.join();
  const auto records = rig.read_all(kTotal);
  REQUIRE(records.size() == kTotal);
  std::set<std::int32_t> partitions;
  for (const auto& r : records) partitions.insert(r.partition);
  CHECK(partitions.size() == 4);
  const auto unique = [&](const std::string& path) {
    const auto ids = rx.accepted_ids(path);
    return std::set<std::string>(ids.begin(), ids.end()).size();
  };
  for (const std::string path : {"/commit", "/key"}) {
    REQUIRE(eventually([&] { return unique(path) >= kTotal; }, seconds(240)));
  }
  CHECK(stop_cleanly({&hooks, &hooks2, &feed}));

  for (const std::string path : {"/commit", "/key"}) {
    INFO(path);
    std::size_t refused = 0;
    for (const auto& r : rx.requests(path)) {
      CHECK_FALSE(r.verified_with.empty());
      refused += r.answered == 500 ? 1 : 0;
    }
    CHECK(refused > 0);
    const auto report = order_report(rx.accepted_ids(path), records);
    INFO("first inversion: " << report.first_inversion);
    CHECK(report.missing == 0);
    CHECK(report.unknown == 0);
    CHECK(report.out_of_key_order == 0);
    if (path == "/commit") {
      CHECK(report.out_of_commit_order == 0);
    } else {
      std::printf(
          "webhooks-order: in key order, %zu of %zu changes came after one committed "
          "later\n",
          report.out_of_commit_order, kTotal);
    }
  }
}

// `millrace webhooks add --backfill`: the new endpoint first gets the rows
// its tables hold, then the changes, in order; an endpoint that was there
// before gets none of that backfill's records.
TEST_CASE("an endpoint added with --backfill gets its tables' rows first, for it alone",
          "[webhooks-backfill]") {
  Pipeline p("it_whb");
  migrate_with_table(p, "items (id int PRIMARY KEY, name text, qty int)");
  const std::string items = "\"" + p.schema + "\".items";
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("INSERT INTO " + items + " SELECT g, 'item-' || g, 1 FROM generate_series(1, 300) g");
    tx.commit();
  }
  ChangeFeedRig rig(p, {"items"});
  rig.grant_select({"items"});
  auto feed = rig.start("changefeed", {{"MILLRACE_CHANGEFEED_BACKFILL_POLL_MS", "100"}});
  rig.wait_streaming();
  Receiver rx;
  std::map<std::string, std::string> secret;
  for (const std::string path : {"/old", "/new"}) {
    secret[path] = webhooks::new_secret();
    rx.set_secrets(path, {secret[path]});
  }
  add_endpoint(p, rx.url("/old"), secret["/old"]);
  auto hooks = start_webhooks(p, rig, "webhooks", "1s");
  const auto write = [&](const std::string& sql) {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec(sql);
    tx.commit();
  };
  write("INSERT INTO " + items + " VALUES (1001, 'late', 1)");
  REQUIRE(eventually([&] { return rx.accepted_ids("/old").size() == 1; }, seconds(60)));

  const auto id = add_endpoint(p, rx.url("/new"), secret["/new"],
                               {"--backfill", "--publication", rig.publication});
  // At a failure: what each receiver accepted, and the queue's rows by
  // endpoint and status, with the last error of any not delivered.
  const auto note = add_failure_note([&] {
    std::string out = "accepted: /old " + std::to_string(rx.accepted_ids("/old").size()) +
                      ", /new " + std::to_string(rx.accepted_ids("/new").size()) + "; queue:";
    try {
      pqxx::connection c(p.env.pg);
      pqxx::nontransaction tx(c);
      for (const auto& r :
           tx.exec("SELECT endpoint_id, status, count(*), max(attempts), "
                   "coalesce(max(last_error), '') FROM " +
                   tx.quote_name(p.schema) + ".webhook_deliveries GROUP BY 1, 2 ORDER BY 1, 2")) {
        out += " endpoint " + r[0].as<std::string>() + " " + r[1].as<std::string>() + " " +
               r[2].as<std::string>() + " (attempts up to " + r[3].as<std::string>() + ") " +
               r[4].as<std::string>() + ";";
      }
      for (const auto& r :
           tx.exec("SELECT partition, last_id, caught_up_at::text FROM " + tx.quote_name(p.schema) +
                   ".webhook_read_marks ORDER BY partition")) {
        out += " mark " + r[0].as<std::string>() + " " + r[1].as<std::string>() + " " +
               r[2].as<std::string>() + ";";
      }
    } catch (const std::exception& e) {
      out += std::string(" (unreadable: ") + e.what() + ")";
    }
    return out;
  });
  write("UPDATE " + items + " SET qty = 7 WHERE id = 5");
  // What the new endpoint's receiver holds: each record's kind, in arrival
  // order, and the rows as it applies them.
  struct Seen {
    std::map<std::string, int> types;
    std::map<int, int> qty;
    std::vector<int> snapshot_ids;
    int end_rows = -1;
    int update_at = -1;  // the update's place among the records
    int first_snapshot_at = -1;
  };
  const auto seen_by_new = [&] {
    Seen s;
    int at = 0;
    for (const auto& r : rx.requests("/new")) {
      rapidjson::Document d;
      d.Parse(r.body.c_str());
      REQUIRE_FALSE(d.HasParseError());
      const std::string type = d["type"].GetString();
      ++s.types[type.substr(type.rfind('.') + 1)];
      const auto& data = d["data"];
      const std::string op = data["op"].GetString();
      if (op == "e") {
        s.end_rows = data["backfill"]["rows"].GetInt();
      } else {
        if (op == "r") {
          CHECK(std::string(data["source"]["for"].GetString()) == "webhooks:" + std::to_string(id));
          s.snapshot_ids.push_back(data["key"]["id"].GetInt());
          if (s.first_snapshot_at < 0) s.first_snapshot_at = at;
        } else if (op == "u") {
          s.update_at = at;
        }
        s.qty[data["key"]["id"].GetInt()] = data["after"]["qty"].GetInt();
      }
      ++at;
    }
    return s;
  };
  // The backfill's end and the update, in whichever order they were
  // committed.
  REQUIRE(eventually(
      [&] {
        const auto s = seen_by_new();
        return s.end_rows >= 0 && s.update_at >= 0;
      },
      seconds(120)));
  REQUIRE(eventually([&] { return rx.accepted_ids("/old").size() >= 2; }, seconds(60)));
  std::this_thread::sleep_for(seconds(3));  // nothing more may come
  CHECK(stop_cleanly({&hooks, &feed}));

  auto s = seen_by_new();
  CHECK(s.types["backfilled"] == 1);
  CHECK(s.types["updated"] == 1);
  CHECK(s.types["snapshot"] == s.end_rows);
  if (s.types["snapshot"] == 301) {
    // The chunk's snapshot saw the update, or the update came after the
    // chunk: either way every row is in it.
    std::printf("webhooks-backfill: the update committed outside the chunk's window\n");
  } else {
    // The update committed inside the chunk's window, unseen by its
    // snapshot: the chunk leaves that row out (the stream holds a newer
    // state of it), and the update reaches the endpoint before the chunk.
    std::printf("webhooks-backfill: the update committed inside the chunk's window\n");
    CHECK(s.types["snapshot"] == 300);
    CHECK(std::find(s.snapshot_ids.begin(), s.snapshot_ids.end(), 5) == s.snapshot_ids.end());
    CHECK(s.update_at < s.first_snapshot_at);
  }
  // Applied in arrival order, the records leave the table as it is.
  CHECK(s.qty.size() == 301);
  CHECK(s.qty.at(5) == 7);
  CHECK(s.qty.at(1001) == 1);
  // The endpoint that was there before: the insert and the update only.
  std::vector<std::string> old_types;
  for (const auto& r : rx.requests("/old")) {
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    old_types.push_back(d["type"].GetString());
  }
  CHECK(old_types ==
        std::vector<std::string>{p.schema + ".items.created", p.schema + ".items.updated"});
}
