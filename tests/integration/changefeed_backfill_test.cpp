// The change feed's backfills asked for by command or INSERT: listed, refused with
// a reason, cancelled, and one no running feed can serve until granted.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <tuple>
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

// The backfill commands, and a plain INSERT into the signal table, as any
// client may: a condition, a backfill PostgreSQL refuses and one of a table
// the publication does not hold failing with their reasons while the feed
// goes on, a cancel stopping a running one at its next chunk (no end
// record), and `backfills` listing all of it.
TEST_CASE("backfills asked for by command or INSERT: listed, refused with a reason, cancelled",
          "[changefeed-backfill-cli]") {
  Pipeline p("it_cfbc");
  const std::string s = "\"" + p.schema + "\"";
  sql(p.env.pg, "CREATE SCHEMA " + s);
  sql(p.env.pg, "CREATE TABLE " + s + ".items (id int PRIMARY KEY, region text)");
  sql(p.env.pg, "INSERT INTO " + s +
                    ".items SELECT g, CASE WHEN g % 2 = 0 THEN 'north' ELSE 'south' END FROM "
                    "generate_series(1, 200000) g");
  sql(p.env.pg, "CREATE TABLE " + s + ".other (id int PRIMARY KEY)");  // not published
  ChangeFeedRig rig(p, {"items"});
  rig.grant_select({"items"});
  auto feed = rig.start("cf", {{"MILLRACE_CHANGEFEED_BACKFILL_POLL_MS", "100"}});
  rig.wait_streaming();
  const auto cli = [&](std::vector<std::string> args, std::string* out) {
    out->clear();  // run() appends
    args.insert(args.begin(), "changefeed");
    return run(bin("millrace"), args,
               {{"MILLRACE_PG", p.env.pg},
                {"MILLRACE_PG_SCHEMA", p.schema},
                {"MILLRACE_CHANGEFEED_PUBLICATION", rig.publication}},
               out);
  };
  std::string out;
  REQUIRE(
      cli({"backfill", "--table", "items", "--where", "region = 'north'", "--chunk-size", "5000"},
          &out) == 0);
  const long long north = std::stoll(out);
  sql(p.env.pg, "INSERT INTO " + s +
                    ".changefeed_backfills (publication, table_name, where_sql) VALUES ('" +
                    rig.publication + "', 'items', 'no_such_column = 1')");
  REQUIRE(cli({"backfill", "--table", "other"}, &out) == 0);
  REQUIRE(cli({"backfill", "--table", "items", "--chunk-size", "100"}, &out) == 0);
  const long long all = std::stoll(out);
  CHECK(cli({"backfill", "--table", "items", "--cancel", "1"}, &out) == 2);  // one or the other

  const auto row_of = [&](long long id) {
    pqxx::connection c(p.env.pg);
    pqxx::nontransaction tx(c);
    const auto r = tx.exec1("SELECT state, rows_sent, coalesce(error, '') FROM " + s +
                            ".changefeed_backfills WHERE id = " + std::to_string(id));
    return std::make_tuple(r[0].as<std::string>(), r[1].as<long long>(), r[2].as<std::string>());
  };
  REQUIRE(eventually(
      [&] { return std::get<0>(row_of(all)) == "running" && std::get<1>(row_of(all)) > 0; },
      seconds(120)));
  REQUIRE(cli({"backfill", "--cancel", std::to_string(all)}, &out) == 0);
  REQUIRE(eventually([&] { return std::get<0>(row_of(all)) == "cancelled"; }, seconds(60)));
  CHECK(cli({"backfill", "--cancel", std::to_string(all)}, &out) == 1);  // ended already
  const auto [north_state, north_rows, north_error] = row_of(north);
  CHECK(north_state == "done");
  CHECK(north_rows == 100000);
  CHECK(std::get<0>(row_of(north + 1)) == "failed");
  CHECK_THAT(std::get<2>(row_of(north + 1)), Catch::Contains("no_such_column"));
  CHECK(std::get<0>(row_of(north + 2)) == "failed");
  CHECK_THAT(std::get<2>(row_of(north + 2)), Catch::Contains("is not in publication"));
  const long long cancelled_rows = std::get<1>(row_of(all));
  CHECK(cancelled_rows < 200000);

  REQUIRE(cli({"backfills"}, &out) == 0);
  INFO(out);
  for (const char* word : {"done", "failed", "cancelled", "no_such_column", "region = 'north'"}) {
    CHECK_THAT(out, Catch::Contains(word));
  }

  // The north's rows and its end; the cancelled one's rows so far, no end.
  const auto records =
      rig.read_all(static_cast<std::size_t>(north_rows + 1 + cancelled_rows), seconds(180));
  CHECK(feed.running());
  CHECK(stop_cleanly({&feed}));
  check_exactly_once_in_order(records);
  std::map<long long, long long> rows_of, ends_of;
  for (const auto& r : records) {
    const auto d = json(r.value);
    const long long id = d["source"]["backfill"].GetInt64();
    if (r.op == "e") {
      ++ends_of[id];
      continue;
    }
    REQUIRE(r.op == "r");
    ++rows_of[id];
    if (id == north) CHECK(std::string(d["after"]["region"].GetString()) == "north");
  }
  CHECK(rows_of[north] == 100000);
  CHECK(ends_of[north] == 1);
  CHECK(rows_of[all] == cancelled_rows);
  CHECK(ends_of.count(all) == 0);
  CHECK(records.size() == static_cast<std::size_t>(north_rows + 1 + cancelled_rows));
}

// Issue 61's story: published without --grant-select, a feed running as its
// own role (LOGIN REPLICATION only) cannot read the signal table, so a
// backfill asked for would wait for ever. Each place the user looks says
// so, with the fix: `backfill` on stderr (it still asks), `backfills` as the
// request's "waiting: ..." and the feed's millrace_changefeed_backfills_enabled.
// Once granted, the same request is served, with no restart.
TEST_CASE("a backfill no running feed can serve says why and how to fix it, then runs once granted",
          "[changefeed-backfill-unserved]") {
  Pipeline p("it_cfbu");
  const std::string s = "\"" + p.schema + "\"";
  sql(p.env.pg, "CREATE SCHEMA " + s);
  sql(p.env.pg, "CREATE TABLE " + s + ".items (id int PRIMARY KEY, qty int)");
  sql(p.env.pg, "INSERT INTO " + s + ".items SELECT g, g % 7 FROM generate_series(1, 1000) g");
  ChangeFeedRig rig(p, {"items"});  // no grants
  const std::string& url = p.env.changefeed_pg;
  const auto from = url.find("://") + 3;
  const std::string role = url.substr(from, url.find_first_of(":@", from) - from);

  // stdout and stderr apart: the id on one, the warning on the other.
  const auto cli = [&](const std::vector<std::string>& args, std::string* out, std::string* err) {
    const std::string err_path = p.log_dir + "/" + p.topic + ".cli.err";
    std::string line = "MILLRACE_PG='" + p.env.pg + "' MILLRACE_PG_SCHEMA='" + p.schema +
                       "' MILLRACE_CHANGEFEED_PUBLICATION='" + rig.publication + "' '" +
                       bin("millrace") + "' changefeed";
    for (const auto& a : args) line += " '" + a + "'";
    out->clear();
    const int rc = run_shell(line + " 2>'" + err_path + "'", out);
    *err = read_file(err_path);
    INFO(line << "\nstdout: " << *out << "\nstderr: " << *err);
    return rc;
  };
  const auto state_of = [&](long long id) {
    pqxx::connection c(p.env.pg);
    pqxx::nontransaction tx(c);
    return tx
        .exec1("SELECT state || '/' || rows_sent FROM " + s +
               ".changefeed_backfills WHERE id = " + std::to_string(id))[0]
        .as<std::string>();
  };
  std::string out, err;

  // No feed yet: asked, and told it waits for one.
  REQUIRE(cli({"backfill", "--table", "items"}, &out, &err) == 0);
  const long long early = std::stoll(out);
  CHECK_THAT(err, Catch::Contains("warning: backfill " + std::to_string(early) + " waits"));
  CHECK_THAT(err, Catch::Contains("no feed of publication " + rig.publication));

  auto feed = rig.start("cf", {{"MILLRACE_CHANGEFEED_BACKFILL_POLL_MS", "100"}});
  rig.wait_streaming();
  const std::string log_path = p.log_dir + "/" + p.topic + ".cf.log";
  REQUIRE(
      eventually([&] { return read_file(log_path).find("backfills are off") != std::string::npos; },
                 seconds(60)));
  CHECK_THAT(read_file(log_path), Catch::Contains("--grant-select " + role));
  // The gauge exists and says off (0 is also what a missing one sums to).
  const auto series = parse_exposition(http_get(feed.metrics_port, "/metrics"));
  const auto enabled = std::find_if(series.begin(), series.end(), [](const Series& x) {
    return x.name == "millrace_changefeed_backfills_enabled";
  });
  REQUIRE(enabled != series.end());
  CHECK(enabled->value == 0);

  // The fix the user is given: the GRANTs, and publish with its own tables.
  const std::string grant =
      "GRANT SELECT, INSERT, UPDATE ON " + p.schema + ".changefeed_backfills TO " + role + ";";
  REQUIRE(cli({"backfill", "--table", "items", "--chunk-size", "300"}, &out, &err) == 0);
  const long long later = std::stoll(out);
  CHECK_THAT(err, Catch::Contains("logs in as " + role));
  CHECK_THAT(err, Catch::Contains(grant));
  CHECK_THAT(err, Catch::Contains("--tables items --grant-select " + role));

  REQUIRE(cli({"backfills"}, &out, &err) == 0);
  CHECK_THAT(out, Catch::Contains("waiting: the feed of publication " + rig.publication +
                                  " logs in as " + role));
  CHECK(state_of(early) == "pending/0");
  CHECK(state_of(later) == "pending/0");

  // publish without --grant-select now sees the running feed's role.
  REQUIRE(cli({"publish", "--publication", rig.publication, "--tables", "items"}, &out, &err) == 0);
  CHECK_THAT(err, Catch::Contains("logs in as " + role));
  CHECK_THAT(err, Catch::Contains("--grant-select " + role));

  rig.grant_select({"items"});
  REQUIRE(eventually([&] { return state_of(later) == "done/1000"; }, seconds(120)));
  CHECK(state_of(early) == "done/1000");
  CHECK(scrape_metric(feed.metrics_port, "millrace_changefeed_backfills_enabled") == 1);
  REQUIRE(cli({"backfills"}, &out, &err) == 0);
  CHECK_THAT(out, !Catch::Contains("waiting:"));
  REQUIRE(cli({"backfill", "--table", "items"}, &out, &err) == 0);
  CHECK(err.empty());

  // Each served request published every row and its end.
  const auto records = rig.read_all(2 * 1001);
  CHECK(stop_cleanly({&feed}));
  std::map<long long, int> rows_of, ends_of;
  for (const auto& r : records) {
    const auto d = json(r.value);
    const long long id = d["source"]["backfill"].GetInt64();
    ++(r.op == "e" ? ends_of : rows_of)[id];
  }
  CHECK(rows_of[early] == 1000);
  CHECK(rows_of[later] == 1000);
  CHECK(ends_of[early] == 1);
  CHECK(ends_of[later] == 1);
}
