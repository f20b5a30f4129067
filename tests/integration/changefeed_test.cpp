// millrace-changefeed end to end on the test stack: direct SQL edits, rows
// the sink writes and upserts the aggregator makes all reach the changes
// topic exactly as committed, once each, in commit order per key; a column
// added mid-stream shows in the changes after it.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <set>

#include "changes.hpp"
#include "harness.hpp"
#include "http_client.hpp"
#include "pipeline.hpp"
#include "scrape.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::seconds;

namespace {

void sql(const std::string& conninfo, const std::string& statement) {
  pqxx::connection c(conninfo);
  pqxx::work tx(c);
  tx.exec(statement);
  tx.commit();
}

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

rapidjson::Document json(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
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
