// Webhooks that route like Event Grid, end to end on the test stack: one
// run of the change feed and millrace-webhooks serves an endpoint per
// feature, each checked by what its receiver got:
//   /structured, /binary  CloudEvents in each mode, parsed by the CloudEvents
//                         SDK for Python and verified by the Standard
//                         Webhooks library (tests/integration/cloudevents_check.py)
//   /sales                an Event Grid filter: exactly the sale rows with a
//                         discount over 50 in the wanted categories, in
//                         commit order, checked against SQL
//   /limited              a rate limit, across workers that pass the queue
//                         on every few deliveries
//   /failing              disabled after failing longer than its
//                         disable_after; nothing lost, sent once enabled
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <random>
#include <set>

#include "changes.hpp"
#include "harness.hpp"
#include "http_client.hpp"
#include "millrace/test_paths.hpp"
#include "millrace/webhooks/signature.hpp"
#include "pipeline.hpp"
#include "receiver.hpp"
#include "scrape.hpp"
#include "webhooks.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::seconds;

namespace {

constexpr int kRatePerSecond = 10;

// What the feed says of a received change: its row's id, discount and
// category as PostgreSQL prints them.
struct Row {
  std::string id, discount, category;
  bool operator==(const Row&) const = default;
};

// The row in a standard body's data.after.
Row row_of(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseNumbersAsStringsFlag>(body.c_str());
  REQUIRE(doc.IsObject());
  const auto& after = doc["data"]["after"];
  REQUIRE(after.IsObject());
  return {after["id"].GetString(), after["discount"].GetString(), after["category"].GetString()};
}

// The requests of `paths` as NDJSON lines for the Python check: path, every
// header, body.
void dump(const Receiver& rx, const std::vector<std::string>& paths, const std::string& file) {
  std::ofstream out(file);
  for (const auto& path : paths) {
    for (const auto& r : rx.requests(path)) {
      rapidjson::StringBuffer b;
      rapidjson::Writer<rapidjson::StringBuffer> w(b);
      w.StartObject();
      w.Key("path");
      w.String(path.c_str());
      w.Key("headers");
      w.StartObject();
      for (const auto& [k, v] : r.headers) {
        w.Key(k.c_str());
        w.String(v.c_str());
      }
      w.EndObject();
      w.Key("body");
      w.String(r.body.c_str(), static_cast<rapidjson::SizeType>(r.body.size()));
      w.EndObject();
      out << b.GetString() << '\n';
    }
  }
}

}  // namespace

TEST_CASE("CloudEvents, Event Grid filters, rate limits and auto-disable", "[webhooks-routing]") {
  Pipeline p("it_whr");
  migrate_with_table(p,
                     "sales (id int PRIMARY KEY, event_type text NOT NULL, category text NOT NULL, "
                     "discount numeric NOT NULL)");
  {  // Every row version in commit order (each statement commits alone), for the SQL check.
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("SET LOCAL search_path TO " + p.schema);
    tx.exec(
        "CREATE TABLE sales_log (seq bigserial PRIMARY KEY, op text, id int, event_type text, "
        "category text, discount numeric)");
    tx.exec(
        "CREATE FUNCTION log_sale() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP = 'DELETE' THEN INSERT INTO sales_log (op, id) VALUES ('d', OLD.id); "
        "ELSE INSERT INTO sales_log (op, id, event_type, category, discount) VALUES "
        "(CASE TG_OP WHEN 'INSERT' THEN 'c' ELSE 'u' END, NEW.id, NEW.event_type, NEW.category, "
        "NEW.discount); END IF; RETURN NULL; END $$");
    tx.exec(
        "CREATE TRIGGER sales_log AFTER INSERT OR UPDATE OR DELETE ON sales "
        "FOR EACH ROW EXECUTE FUNCTION log_sale()");
    tx.commit();
  }
  ChangeFeedRig rig(p, {"sales"});
  auto feed = rig.start("changefeed");
  rig.wait_streaming();

  Receiver rx;
  std::map<std::string, std::string> secret;
  std::map<std::string, std::int64_t> endpoint;
  for (const std::string path : {"/structured", "/binary", "/sales", "/limited", "/failing"}) {
    secret[path] = webhooks::new_secret();
    rx.set_secrets(path, {secret[path]});
  }
  endpoint["/structured"] = add_endpoint(p, rx.url("/structured"), secret["/structured"],
                                         {"--format", "cloudevents-structured"});
  endpoint["/binary"] =
      add_endpoint(p, rx.url("/binary"), secret["/binary"], {"--format", "cloudevents-binary"});
  // An Event Grid subscription's filter, pasted as the portal shows it
  // (a file holding the subscription's properties).
  const std::string filter_file = p.log_dir + "/" + p.topic + ".sales-filter.json";
  std::ofstream(filter_file) << R"({"properties": {"filter": {
      "includedEventTypes": ["com.millrace.row.created", "com.millrace.row.updated"],
      "advancedFilters": [
        {"operatorType": "NumberGreaterThan", "key": "data.after.discount", "value": 50},
        {"operatorType": "StringIn", "key": "data.after.category", "values": ["kitchen", "Garden"]},
        {"operatorType": "StringIn", "key": "data.after.event_type", "values": ["sale_event"]}
      ]}}})";
  endpoint["/sales"] =
      add_endpoint(p, rx.url("/sales"), secret["/sales"], {"--filter", filter_file});
  endpoint["/limited"] = add_endpoint(p, rx.url("/limited"), secret["/limited"],
                                      {"--rate-limit", std::to_string(kRatePerSecond)});
  endpoint["/failing"] =
      add_endpoint(p, rx.url("/failing"), secret["/failing"], {"--disable-after", "3s"});
  std::atomic<bool> failing_recovered{false};
  rx.script("/failing", [&](const Received&, int) {
    return Answer{failing_recovered ? 200 : 500, std::nullopt};
  });
  // A bad filter is refused with Event Grid's reason, and nothing is registered.
  {
    std::string out;
    const int rc = run(bin("millrace"),
                       {"webhooks", "add", "--url", rx.url("/bad"), "--allow-private", "--filter",
                        R"({"advancedFilters":[{"operatorType":"NumberBetween","key":"data.x"}]})"},
                       {{"MILLRACE_PG", p.env.pg}, {"MILLRACE_PG_SCHEMA", p.schema}}, &out);
    CHECK(rc != 0);
    CHECK(sql_count(p, "SELECT count(*) FROM webhook_endpoints") == 5);
  }

  // Claims give each queue up every 3 deliveries, so the rate limit's state
  // passes between the workers through the database.
  auto hooks = start_webhooks(p, rig, "webhooks", "300ms,300ms,300ms,300ms,300ms,300ms,300ms",
                              {{"MILLRACE_WEBHOOKS_MAX_PER_CLAIM", "3"}});

  // 160 inserts, updates that move discounts across 50 and categories
  // in and out, and deletes: each statement its own transaction.
  std::mt19937 rng(20261128);
  const std::vector<std::string> categories = {"Kitchen", "garden", "Toys", "GARDEN",
                                               "Kitchenware"};
  const std::vector<std::string> discounts = {"0",  "49.99", "50",  "50.0001",
                                              "51", "75.5",  "100", "12345678901234567890.5"};
  {
    pqxx::connection c(p.env.pg);
    const auto one = [&](const std::string& statement) {
      pqxx::work tx(c);
      tx.exec("SET LOCAL search_path TO " + p.schema);
      tx.exec(statement);
      tx.commit();
    };
    for (int i = 1; i <= 160; ++i) {
      one("INSERT INTO sales VALUES (" + std::to_string(i) + ", '" +
          (rng() % 4 == 0 ? "inventory_event" : "sale_event") + "', '" +
          categories[rng() % categories.size()] + "', " + discounts[rng() % discounts.size()] +
          ")");
    }
    for (int i = 1; i <= 160; i += 3) {
      one("UPDATE sales SET discount = " + discounts[rng() % discounts.size()] + ", category = '" +
          categories[rng() % categories.size()] + "' WHERE id = " + std::to_string(i));
    }
    for (int i = 1; i <= 160; i += 7) one("DELETE FROM sales WHERE id = " + std::to_string(i));
  }
  const auto records = rig.read_all(160 + 54 + 23);
  REQUIRE(records.size() == 237);
  std::vector<std::string> all_ids;
  for (const auto* r : in_commit_order(records)) all_ids.push_back(r->id);

  // What the filter wants, from SQL alone: created and updated rows with a
  // discount over 50, in the categories (any case), of sale events.
  std::vector<Row> wanted;
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("SET LOCAL search_path TO " + p.schema);
    for (const auto& r :
         tx.exec("SELECT id::text, discount::text, category FROM sales_log WHERE op IN ('c', 'u') "
                 "AND discount > 50 AND lower(category) IN ('kitchen', 'garden') "
                 "AND event_type = 'sale_event' ORDER BY seq")) {
      wanted.push_back({r[0].c_str(), r[1].c_str(), r[2].c_str()});
    }
  }
  REQUIRE(wanted.size() > 10);

  for (const std::string path : {"/structured", "/binary", "/limited"}) {
    INFO(path);
    REQUIRE(
        eventually([&] { return rx.accepted_ids(path).size() >= all_ids.size(); }, seconds(240)));
  }
  REQUIRE(
      eventually([&] { return rx.accepted_ids("/sales").size() >= wanted.size(); }, seconds(120)));

  // The failing endpoint is disabled once it has failed for 3 s, with a log
  // line and a metric; its deliveries wait.
  const auto failing = std::to_string(endpoint["/failing"]);
  REQUIRE(eventually(
      [&] {
        return sql_count(p, "SELECT count(*) FROM webhook_endpoints WHERE id = " + failing +
                                " AND NOT active AND disabled_reason LIKE 'failing since %'") == 1;
      },
      seconds(120)));
  REQUIRE(eventually(
      [&] {
        return scrape_metric(hooks.metrics_port, "millrace_webhooks_auto_disabled_total",
                             {{"endpoint", failing}}) == 1;
      },
      seconds(30)));
  CHECK_THAT(webhooks_cli(p, {"list"}), Catch::Contains("disabled: failing since"));
  // Nothing lost: every change is still there for it, pending or failed.
  REQUIRE(eventually(
      [&] {
        return sql_count(p, "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = " +
                                failing + " AND status IN ('pending', 'failed')") ==
               static_cast<std::int64_t>(all_ids.size());
      },
      seconds(60)));
  // Its receiver recovers; enabled, and its failed deliveries replayed, it
  // gets every change.
  failing_recovered = true;
  webhooks_cli(p, {"replay", "--endpoint", failing});
  webhooks_cli(p, {"enable", "--endpoint", failing});
  REQUIRE(eventually([&] { return rx.accepted_ids("/failing").size() >= all_ids.size(); },
                     seconds(240)));

  // The filtered counts, in the database and in the metrics.
  const auto sales = std::to_string(endpoint["/sales"]);
  const auto filtered_expected = static_cast<std::int64_t>(records.size() - wanted.size());
  REQUIRE(eventually(
      [&] {
        return scrape_metric(hooks.metrics_port, "millrace_webhooks_filtered_changes",
                             {{"endpoint", sales}}) == static_cast<double>(filtered_expected);
      },
      seconds(30)));
  CHECK(scrape_metric(hooks.metrics_port, "millrace_webhooks_filtered_changes",
                      {{"endpoint", std::to_string(endpoint["/structured"])}}) == 0);
  const std::string log = read_file(p.log_dir + "/" + p.topic + ".webhooks.log");
  CHECK_THAT(log, Catch::Contains("endpoint " + failing + " disabled: failing since"));
  CHECK(stop_cleanly({&hooks}));
  CHECK(stop_cleanly({&feed}));
  CHECK(sql_count(p, "SELECT sum(changes) FROM webhook_filtered WHERE endpoint_id = " + sales) ==
        filtered_expected);
  CHECK(sql_count(p, "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = " + sales) ==
        static_cast<std::int64_t>(wanted.size()));

  {  // the filter: exactly the wanted rows, in commit order, nothing else
    std::vector<Row> got;
    std::set<std::string> seen;
    for (const auto& r : rx.requests("/sales")) {
      CHECK_FALSE(r.verified_with.empty());
      if (r.answered == 200 && seen.insert(r.id).second) got.push_back(row_of(r.body));
    }
    CHECK(got == wanted);
  }
  {  // every endpoint in commit order, each change once
    for (const std::string path : {"/structured", "/binary", "/limited", "/failing"}) {
      INFO(path);
      const auto report = order_report(rx.accepted_ids(path), records);
      CHECK(report.missing == 0);
      CHECK(report.unknown == 0);
      CHECK(report.out_of_commit_order == 0);
    }
  }
  {  // the rate limit: never more requests in a second than it allows
    std::map<std::string, int> per_second;  // webhook-timestamp: taken as each is sent
    for (const auto& r : rx.requests("/limited")) ++per_second[r.timestamp];
    int most = 0;
    for (const auto& [second, n] : per_second) most = std::max(most, n);
    CHECK(most <= kRatePerSecond);
    // ...and it was the limit that spread them out.
    CHECK(per_second.size() >= all_ids.size() / kRatePerSecond);
  }
  {  // CloudEvents, as the SDK for Python reads them
    const std::string file = p.log_dir + "/" + p.topic + ".cloudevents.ndjson";
    dump(rx, {"/structured", "/binary"}, file);
    const std::string python = millrace::test_paths::source(".cache/venv/bin/python3");
    std::string database;
    {
      pqxx::connection c(p.env.pg);
      database = c.dbname();
    }
    std::string out;
    const int rc = run(
        python,
        {millrace::test_paths::source("tests/integration/cloudevents_check.py"), file, "--secret",
         "/structured=" + secret["/structured"], "--secret", "/binary=" + secret["/binary"],
         "--source", "/millrace/" + database + "/" + p.schema + ".sales", "--subject-prefix",
         p.schema + ".sales/"},
        {}, &out);
    INFO(out);
    REQUIRE(rc == 0);
    CHECK_THAT(out, Catch::Contains("/structured: " +
                                    std::to_string(rx.requests("/structured").size()) + " events"));
    CHECK_THAT(out, Catch::Contains("/binary: " + std::to_string(rx.requests("/binary").size()) +
                                    " events"));
  }
}
