// millrace-changefeed end to end: edits by hand, sink rows and aggregator upserts
// published once each in commit order, and the initial snapshot beside the stream.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "changefeed_support.hpp"
#include "changes.hpp"
#include "harness.hpp"
#include "pipeline.hpp"
#include "scrape.hpp"

using namespace millrace;
using namespace millrace::testing;
using namespace millrace::testing::changefeed_tests;
using std::chrono::seconds;

namespace {

// Through psql, as an operator would edit a table by hand.
void psql(const Pipeline& p, const std::string& statement) {
  std::string out;
  const int rc =
      run_shell("psql -X -q -v ON_ERROR_STOP=1 '" + p.env.pg + "' -c \"SET search_path TO " +
                    p.schema + "; " + statement + "\" 2>&1",
                &out);
  INFO(statement << ": " << out);
  REQUIRE(rc == 0);
}

}  // namespace

TEST_CASE("edits by hand, sink rows and aggregator upserts all flow out once, in order",
          "[changefeed]") {
  Pipeline p("it_cf");
  std::string out;
  REQUIRE(run(bin("millrace"), {"migrate"},
              {{"MILLRACE_PG", p.env.pg}, {"MILLRACE_PG_SCHEMA", p.schema}}, &out) == 0);
  sql(p.env.pg, "CREATE TABLE " + p.schema + ".items (id int PRIMARY KEY, name text, qty int)");
  ChangeFeedRig rig(
      p, {"store_events", "agg_hourly", "agg_daily", "agg_products", "agg_categories", "items"});
  auto feed = rig.start("changefeed");
  rig.wait_streaming();

  psql(p, "INSERT INTO items VALUES (1, 'rake', 5), (2, 'hoe', 7), (3, 'spade', 1)");
  psql(p, "UPDATE items SET qty = 8 WHERE id = 2");
  psql(p, "DELETE FROM items WHERE id = 3");
  psql(p, "UPDATE items SET id = 10 WHERE id = 1");

  const std::string agg_group = p.group + "_agg";
  p.produce(3000, 4242, 0.05);
  auto sink = p.start_sink("sink");
  auto agg = p.start("millrace-aggregator", "agg", {{"MILLRACE_AGGREGATOR_GROUP", agg_group}});
  REQUIRE(p.wait_caught_up(seconds(300)));
  REQUIRE(eventually([&] { return p.stored_total(agg_group) == p.end_total(); }, seconds(300)));

  psql(p, "ALTER TABLE items ADD COLUMN note text");
  psql(p, "INSERT INTO items VALUES (4, 'fork', 2, 'new column')");
  CHECK(stop_cleanly({&sink, &agg}));

  std::set<std::string> stored_ids;
  std::map<std::string, std::size_t> table_rows;
  {
    pqxx::connection c(p.env.pg);
    pqxx::nontransaction tx(c);
    for (const auto& row : tx.exec("SELECT id::text FROM " + p.schema + ".store_events")) {
      stored_ids.insert(row[0].as<std::string>());
    }
    for (const char* t : {"agg_hourly", "agg_daily", "agg_products", "agg_categories"}) {
      table_rows[t] = tx.exec1("SELECT count(*) FROM " + p.schema + "." + t)[0].as<std::size_t>();
    }
  }
  REQUIRE(stored_ids.size() > 1000);
  const auto records = rig.read_all(stored_ids.size() + 7);
  // Its metrics pass promtool's lint and agree with what was read.
  const std::string exposition = http_get(feed.metrics_port, "/metrics");
  CHECK(promtool_check(exposition).empty());
  CHECK(sum_of(parse_exposition(exposition), "millrace_changefeed_changes_published_total") ==
        static_cast<double>(records.size()));
  CHECK(stop_cleanly({&feed}));
  check_exactly_once_in_order(records);

  std::set<std::string> published_ids;
  std::map<std::string, std::vector<std::string>> items_ops;          // key -> ops
  std::map<std::string, std::map<std::string, std::string>> last_op;  // table -> key -> op
  std::string fork_after;
  for (const auto& r : records) {
    const auto d = json(r.value);
    if (r.table == p.schema + ".store_events") {
      CHECK(r.op == "c");
      published_ids.insert(d["after"]["id"].GetString());
    } else if (r.table == p.schema + ".items") {
      items_ops[r.key].push_back(r.op);
      if (d["after"].IsObject() && d["after"]["id"].GetInt() == 4) fork_after = r.value;
    } else {
      last_op[r.table][r.key] = r.op;
    }
  }
  CHECK(published_ids == stored_ids);

  const auto key = [&](int id) {
    return "{\"table\":\"" + p.schema + ".items\",\"key\":{\"id\":" + std::to_string(id) + "}}";
  };
  CHECK(items_ops[key(1)] == std::vector<std::string>{"c"});
  CHECK(items_ops[key(2)] == std::vector<std::string>{"c", "u"});
  CHECK(items_ops[key(3)] == std::vector<std::string>{"c", "d"});
  CHECK(items_ops[key(10)] == std::vector<std::string>{"u"});  // the key changed: before holds 1
  CHECK(items_ops[key(4)] == std::vector<std::string>{"c"});
  CHECK_THAT(fork_after, Catch::Contains("\"note\":\"new column\""));

  // Every aggregate row that exists was published, and nothing else.
  for (const auto& [table, rows] : table_rows) {
    INFO(table);
    std::size_t live = 0;
    for (const auto& [k, op] : last_op[p.schema + "." + table]) live += op != "d" ? 1 : 0;
    CHECK(live == rows);
    CHECK(rows > 0);
  }
}

TEST_CASE("the initial snapshot backfills the rows already there while the stream goes on",
          "[changefeed-snapshot]") {
  Pipeline p("it_cfsnap");
  const std::string s = "\"" + p.schema + "\"";
  sql(p.env.pg, "CREATE SCHEMA " + s);
  sql(p.env.pg, "CREATE TABLE " + s + ".items (id int PRIMARY KEY, name text, qty int)");
  sql(p.env.pg,
      "INSERT INTO " + s + ".items SELECT g, 'item-' || g, g % 7 FROM generate_series(1, 5000) g");
  sql(p.env.pg, "CREATE TABLE " + s + ".notes (id int PRIMARY KEY, body text)");
  sql(p.env.pg, "ALTER TABLE " + s + ".notes REPLICA IDENTITY FULL");
  sql(p.env.pg, "INSERT INTO " + s + ".notes VALUES (1, 'a'), (2, NULL), (3, 'c')");
  sql(p.env.pg, "CREATE TABLE " + s + ".accounts (id int PRIMARY KEY, region text, secret text)");
  sql(p.env.pg, "INSERT INTO " + s +
                    ".accounts SELECT g, 'eu', 'secret-' || g FROM generate_series(1, 100) g");
  const std::vector<std::string> tables = {"items", "notes", "accounts"};
  ChangeFeedRig rig(p, tables);
  const std::map<std::string, std::string> env = {{"MILLRACE_CHANGEFEED_SNAPSHOT", "initial"},
                                                  {"MILLRACE_RETRY_BACKOFF_MS", "100"}};

  // Without SELECT on the tables the feed's role cannot read them: a clear
  // fatal error, and nothing published.
  {
    auto refused = rig.start("cf-refused", env);
    CHECK(refused.wait(seconds(60)) == std::optional<int>(1));
    const auto log = read_file(p.log_dir + "/" + p.topic + ".cf-refused.log");
    CHECK_THAT(log, Catch::Contains("permission denied"));
    CHECK_THAT(log, Catch::Contains("--grant-select"));
  }
  rig.grant_select(tables);
  // The publication's own column list and row filter (PostgreSQL 15) hold
  // for the snapshot as for the stream: no secret, even ids only.
  sql(p.env.pg, "ALTER PUBLICATION " + rig.publication + " SET TABLE " + s + ".items, " + s +
                    ".notes, " + s + ".accounts (id, region) WHERE (id % 2 = 0)");

  // Rows keep arriving while the feed starts: each lands in the snapshot or
  // in the stream, never both, never neither.
  std::atomic<bool> writing{true};
  std::atomic<int> inserted{0};
  std::string writer_error;
  std::thread writer([&, conninfo = p.env.pg, table = s + ".items"] {
    try {
      pqxx::connection c(conninfo);
      for (int n = 1; writing.load() || n <= 50; ++n) {
        pqxx::work tx(c);
        tx.exec("INSERT INTO " + table + " VALUES (" + std::to_string(100'000 + n) + ", 'new', 1)");
        tx.commit();
        inserted = n;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    } catch (const std::exception& e) {
      writer_error = e.what();
    }
  });
  struct JoinWriter {  // also when a REQUIRE below throws
    std::atomic<bool>& writing;
    std::thread& writer;
    ~JoinWriter() {
      writing = false;
      if (writer.joinable()) writer.join();
    }
  } join_writer{writing, writer};
  auto feed = rig.start("cf", env);
  rig.wait_streaming();
  psql(p, "UPDATE items SET qty = 100 WHERE id = 7");
  psql(p, "DELETE FROM items WHERE id = 8");
  psql(p, "UPDATE notes SET body = 'b' WHERE id = 2");
  writing = false;
  writer.join();
  REQUIRE(writer_error.empty());

  // The snapshot is a backfill of each published table, asked for once.
  const std::string signals = s + ".changefeed_backfills";
  const auto backfills = [&] {
    pqxx::connection c(p.env.pg);
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT state, rows_sent, reason FROM " + signals + " ORDER BY id");
  };
  REQUIRE(eventually(
      [&] {
        const auto r = backfills();
        return r.size() == 3 && std::all_of(r.begin(), r.end(), [](const auto& row) {
                 return row[0].template as<std::string>() == "done";
               });
      },
      seconds(120)));
  std::uint64_t snapshot_rows = 0;
  for (const auto& row : backfills()) {
    snapshot_rows += row[1].as<std::uint64_t>();
    CHECK_THAT(row[2].as<std::string>(), Catch::Contains("initial snapshot of slot " + rig.slot));
  }
  // 5,000 items (and those the writer added before their chunk was read),
  // 3 notes and the 50 accounts the row filter keeps.
  CHECK(snapshot_rows >= 5000 + 3 + 50);
  // Every row the snapshot read, its three ends, the three edits at least
  // (and the writer's inserts that committed after the slot began).
  const auto records = rig.read_all(snapshot_rows + 3 + 3);
  const std::string exposition = http_get(feed.metrics_port, "/metrics");
  CHECK(stop_cleanly({&feed}));
  check_exactly_once_in_order(records);

  // Applied in commit order, the records are the tables.
  const auto ordered = in_commit_order(records);
  std::map<std::string, std::map<int, std::string>> rebuilt;  // table -> id -> after
  std::size_t read_rows = 0, ends = 0;
  for (const auto* rp : ordered) {
    const auto& r = *rp;
    const auto d = json(r.value);
    if (r.op == "e") {
      ++ends;
      continue;
    }
    const int id = d["key"]["id"].GetInt();
    if (r.op == "r") {
      ++read_rows;
      CHECK(d["source"]["xid"].GetUint() == 0);
      CHECK(d["source"].HasMember("backfill"));
      CHECK(d["before"].IsNull());
    }
    // The same Kafka key as the row's changes: one partition, in order.
    CHECK(r.key == "{\"table\":\"" + r.table + "\",\"key\":{\"id\":" + std::to_string(id) + "}}");
    if (r.op == "d") {
      rebuilt[r.table].erase(id);
      continue;
    }
    rapidjson::StringBuffer after;
    rapidjson::Writer<rapidjson::StringBuffer> w(after);
    d["after"].Accept(w);
    rebuilt[r.table][id] = after.GetString();
  }
  CHECK(ends == 3);
  CHECK(read_rows == snapshot_rows);
  const auto series = parse_exposition(exposition);
  CHECK(promtool_check(exposition).empty());
  CHECK(sum_of(series, "millrace_changefeed_snapshots_total") == 1);
  CHECK(sum_of(series, "millrace_changefeed_backfill_rows_total") ==
        static_cast<double>(snapshot_rows));

  pqxx::connection c(p.env.pg);
  pqxx::nontransaction tx(c);
  // Each row as the compact JSON of its columns, in their order.
  const auto table_of = [&](const std::string& select) {
    std::map<int, std::string> out;
    for (const auto& row : tx.exec(select)) {
      const auto d = json(row[1].as<std::string>());
      rapidjson::StringBuffer compact;
      rapidjson::Writer<rapidjson::StringBuffer> w(compact);
      d.Accept(w);
      out[row[0].as<int>()] = compact.GetString();
    }
    return out;
  };
  CHECK(rebuilt[p.schema + ".items"] ==
        table_of("SELECT id, json_build_object('id', id, 'name', name, 'qty', qty)::text FROM " +
                 s + ".items"));
  CHECK(
      rebuilt[p.schema + ".notes"] ==
      table_of("SELECT id, json_build_object('id', id, 'body', body)::text FROM " + s + ".notes"));
  // The publication's own column list and row filter: no secret, even ids.
  CHECK(rebuilt[p.schema + ".accounts"] ==
        table_of("SELECT id, json_build_object('id', id, 'region', region)::text FROM " + s +
                 ".accounts WHERE id % 2 = 0"));
  CHECK(rebuilt[p.schema + ".items"].at(7) == "{\"id\":7,\"name\":\"item-7\",\"qty\":100}");
  CHECK(rebuilt[p.schema + ".items"].count(8) == 0);

  // A restart finds the checkpoint: no second snapshot, the stream goes on.
  auto again = rig.start("cf-again", env);
  rig.wait_streaming();
  psql(p, "UPDATE items SET qty = 101 WHERE id = 7");
  const auto more = rig.read_all(records.size() + 1);
  CHECK(scrape_metric(again.metrics_port, "millrace_changefeed_snapshots_total") == 0);
  CHECK(backfills().size() == 3);
  // Dropping the slot is refused while a feed streams from it (once the
  // wait for a session that is ending is over).
  std::string refused;
  CHECK(run(bin("millrace"), {"changefeed", "drop-slot", "--slot", rig.slot},
            {{"MILLRACE_CHANGEFEED_PG", p.env.changefeed_pg}}, &refused) != 0);
  CHECK(stop_cleanly({&again}));
  CHECK(more.size() == records.size() + 1);
  // The new one: records of different partitions arrive in any order, so
  // it is found by id, not by place.
  std::set<std::string> seen;
  for (const auto& r : records) seen.insert(r.id);
  std::vector<ChangeRecord> added;
  for (const auto& r : more) {
    if (!seen.contains(r.id)) added.push_back(r);
  }
  REQUIRE(added.size() == 1);
  CHECK(added[0].op == "u");
  CHECK_THAT(added[0].value, Catch::Contains("\"qty\":101"));

  // The slot dropped by hand: changes committed from now on are in no slot.
  // A feed with the same checkpoint refuses to start rather than skip them.
  std::string out;
  REQUIRE(run(bin("millrace"), {"changefeed", "drop-slot", "--slot", rig.slot},
              {{"MILLRACE_CHANGEFEED_PG", p.env.changefeed_pg}}, &out) == 0);
  auto gone = rig.start("cf-gone", env);
  CHECK(gone.wait(seconds(60)) == std::optional<int>(1));
  CHECK_THAT(read_file(p.log_dir + "/" + p.topic + ".cf-gone.log"),
             Catch::Contains("new --checkpoint-group"));
}
