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
  // A request the consumer cut at its batch's budget (its receiver slower
  // than that, as on a loaded machine) is sent again by the workers: if the
  // receiver took it, it gets it twice, as after any timeout. The service
  // counts those per endpoint; a repeat, or a request, beyond them fails.
  std::map<std::string, std::size_t> cut;
  for (const auto& [path, id] : endpoint) {
    const double n = metric_of(hooks, "millrace_webhooks_batch_requests_cut_total",
                               {{"endpoint", std::to_string(id)}});
    REQUIRE(n >= 0);
    cut[path] = static_cast<std::size_t>(n);
  }
  INFO("requests cut at a batch's budget, by path: " << [&] {
    std::string out;
    for (const auto& [path, n] : cut) out += path + "=" + std::to_string(n) + " ";
    return out;
  }());
  const auto requests_within = [&](const std::string& path, std::size_t n) {
    INFO(path);
    CHECK(rx.requests(path).size() >= n);
    CHECK(rx.requests(path).size() <= n + cut[path]);
  };
  CHECK(stop_cleanly({&hooks}));
  CHECK(stop_cleanly({&feed}));

  {  // every request is signed, and every matching change arrives once, in key order
    for (const std::string path : {"/all", "/filtered", "/flaky", "/slow", "/gone", "/rotate"}) {
      INFO(path);
      for (const auto& r : rx.requests(path)) CHECK_FALSE(r.verified_with.empty());
    }
    for (const auto& r : down.requests("/down")) CHECK_FALSE(r.verified_with.empty());
    CHECK(check_each_once_in_key_order(rx.accepted_ids("/all"), records) <= cut["/all"]);
    requests_within("/all", all_ids.size());
    std::vector<ChangeRecord> c_and_d;
    for (const auto& r : records) {
      if (r.op == "c" || r.op == "d") c_and_d.push_back(r);
    }
    CHECK(check_each_once_in_key_order(rx.accepted_ids("/filtered"), c_and_d) <= cut["/filtered"]);
    requests_within("/filtered", filtered_ids.size());
    CHECK(rx.requests("/none").empty());
    // The body is a Standard Webhooks payload around the change.
    const auto first = rx.requests("/all").front();
    CHECK_THAT(first.body, Catch::StartsWith("{\"type\":\"" + p.schema + ".items.created\""));
    CHECK_THAT(first.body, Catch::Contains("\"data\":{\"id\":\"" + first.id + "\""));
  }
  {  // 500 then 200: each change is retried once and still arrives in order
    const auto requests = rx.requests("/flaky");
    requests_within("/flaky", 2 * all_ids.size());
    CHECK(check_each_once_in_key_order(rx.accepted_ids("/flaky"), records) <= cut["/flaky"]);
    for (std::size_t i = 0; cut["/flaky"] == 0 && i + 1 < requests.size(); i += 2) {
      CHECK(requests[i].id == requests[i + 1].id);
      CHECK(requests[i].answered == 500);
      CHECK(requests[i + 1].answered == 200);
    }
  }
  {  // 429 with Retry-After: 3 holds the next attempt back at least 3 s
    const auto requests = rx.requests("/slow");
    requests_within("/slow", all_ids.size() + 1);
    REQUIRE(requests.size() >= 2);
    CHECK(requests[0].answered == 429);
    if (cut["/slow"] == 0) {  // a cut 429 is not the sender's to wait on
      CHECK(requests[1].id == requests[0].id);
      CHECK(requests[1].at - requests[0].at >= seconds(3));
    }
    CHECK(check_each_once_in_key_order(rx.accepted_ids("/slow"), records) <= cut["/slow"]);
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
    requests_within("/gone", 1);
    const auto id = std::to_string(endpoint["/gone"]);
    CHECK(sql_count(p, "SELECT count(*) FROM webhook_endpoints WHERE id = " + id +
                           " AND NOT active AND disabled_reason LIKE '%410%'") == 1);
    CHECK(sql_count(p, "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = " + id +
                           " AND status = 'pending'") == static_cast<std::int64_t>(all_ids.size()));
    CHECK_THAT(webhooks_cli(p, {"list"}), Catch::Contains("disabled: the receiver answered 410"));
  }
  {  // a receiver down for a while gets its backlog afterwards, in order
    CHECK(check_each_once_in_key_order(down.accepted_ids("/down"), records) <= cut["/down"]);
    CHECK(sql_count(p, "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = " +
                           std::to_string(endpoint["/down"]) + " AND attempts > 1") >= 1);
  }
  {  // a secret rotated mid-run: old and new both sign during the overlap
    const auto requests = rx.requests("/rotate");
    CHECK(check_each_once_in_key_order(rx.accepted_ids("/rotate"), records) <= cut["/rotate"]);
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
