// The outbox feed against bad rows: a null route, a null key, a payload
// that is not JSON with expansion on, a topic name Kafka does not allow, a
// timestamp Kafka does not take.
// Each is dead-lettered to the feed's topic with its reason; the good rows
// around them are published; nothing stops. And `millrace outbox install`
// and `cleanup` against the real database.
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "changes.hpp"
#include "harness.hpp"
#include "http_client.hpp"
#include "millrace/kafka/admin.hpp"
#include "pipeline.hpp"
#include "scrape.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::seconds;

TEST_CASE("the outbox feed dead-letters bad rows with their reason and publishes the rest",
          "[outbox-dead-letters]") {
  Pipeline p("it_obxbad");
  // Nullable columns and a text payload: what a service's own outbox table
  // may allow, unlike the one `millrace outbox install` makes.
  InSchema sql{p};
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("CREATE SCHEMA IF NOT EXISTS " + tx.quote_name(p.schema));
    tx.exec("CREATE TABLE " + tx.quote_name(p.schema) +
            ".outbox (id text PRIMARY KEY, aggregatetype text, aggregateid text, payload text, "
            "occurred timestamptz)");
    tx.commit();
  }
  ChangeFeedRig rig(p, {"outbox"});
  // The feed creates the event topic, with 3 partitions (its own has 4).
  const std::string events = p.topic + ".ev.order";
  auto feed =
      rig.start("obx", {{"MILLRACE_CHANGEFEED_FORMAT", "outbox"},
                        {"MILLRACE_CHANGEFEED_OUTBOX_TOPIC", p.topic + ".ev.${routedByValue}"},
                        {"MILLRACE_CHANGEFEED_OUTBOX_PARTITIONS", "3"},
                        {"MILLRACE_CHANGEFEED_OUTBOX_EXPAND_JSON_PAYLOAD", "true"},
                        {"MILLRACE_CHANGEFEED_OUTBOX_TIMESTAMP_COLUMN", "occurred"}});
  rig.wait_streaming();
  sql.exec(
      "INSERT INTO outbox VALUES ('e1', 'order', '1', '{\"n\": 1}', "
      "date_trunc('second', now()) - interval '1 hour' + interval '0.678999 s');"
      "INSERT INTO outbox VALUES ('b1', NULL, '1', '{\"n\": 2}');"
      "INSERT INTO outbox VALUES ('b2', 'order', NULL, '{\"n\": 3}');"
      "INSERT INTO outbox VALUES ('b3', 'order', '1', 'not json');"
      "INSERT INTO outbox VALUES ('b4', 'or/der', '1', '{\"n\": 5}');"
      "INSERT INTO outbox VALUES ('b5', 'order', '1', '{\"n\": 6}', '1969-12-31 23:00:00+00');"
      "INSERT INTO outbox VALUES ('e2', 'order', '1', '[6]');");
  // The dead letters: each bad row's change record, with its reason.
  const auto dead = p.read_topic(rig.topic, 5);
  std::map<std::string, std::string> reasons;  // by the row's id
  for (const auto& r : dead) {
    INFO(r.value);
    const auto at = r.value.find("\"id\":\"b");
    REQUIRE(at != std::string::npos);
    reasons[r.value.substr(at + 6, 2)] = r.headers.at("millrace.outbox.reason");
    CHECK_FALSE(r.headers.at("millrace.outbox.detail").empty());
  }
  CHECK(reasons == std::map<std::string, std::string>{{"b1", "null_route"},
                                                      {"b2", "null_key"},
                                                      {"b3", "invalid_json"},
                                                      {"b4", "invalid_topic"},
                                                      {"b5", "invalid_timestamp"}});
  // Published in the same Kafka transaction, to the topic the feed made:
  // creating it again with 3 partitions finds it so (another count throws).
  CHECK_NOTHROW(kafka::create_topic(p.env.brokers, events, 3, 1, seconds(30)));
  // The good rows around them, in order, expanded.
  const auto good = p.read_topic(events, 2);
  REQUIRE(good.size() == 2);
  CHECK(good[0].value == "{\"n\":1}");
  CHECK(good[0].headers.at("id") == "e1");
  // Stamped with its timestamp column, in milliseconds (an hour old, not to
  // meet the topic's retention); a null one with the time it was produced.
  const auto stamped =
      std::stoll(sql.one("SELECT floor(extract(epoch FROM occurred) * 1000)::bigint "
                         "FROM outbox WHERE id = 'e1'"));
  CHECK(stamped % 1000 == 678);
  CHECK(good[0].timestamp_ms == std::optional<std::int64_t>(stamped));
  REQUIRE(good[1].timestamp_ms);
  CHECK(*good[1].timestamp_ms > stamped);
  CHECK(good[1].value == "[6]");
  CHECK(good[1].headers.at("id") == "e2");
  // Counted too (the probe reads the counts at its next step).
  CHECK(eventually(
      [&] {
        return sum_of(parse_exposition(http_get(feed.metrics_port, "/metrics")),
                      "millrace_changefeed_outbox_dead_letters_total") == 5;
      },
      seconds(10)));
  CHECK(feed.running());
  CHECK(stop_cleanly({&feed}));
}

TEST_CASE("millrace outbox install makes the table, and cleanup deletes only what was published",
          "[outbox-cleanup]") {
  Pipeline p("it_obxclean");
  InSchema sql{p};
  sql.exec("CREATE SCHEMA IF NOT EXISTS \"" + p.schema + "\"");
  const std::map<std::string, std::string> owner = {{"MILLRACE_PG", p.env.pg},
                                                    {"MILLRACE_PG_SCHEMA", p.schema}};
  std::string out;
  REQUIRE(run(bin("millrace"),
              {"outbox", "install", "--table", "outbox", "--publication", p.schema + "_pub"}, owner,
              &out) == 0);
  INFO(out);
  // The table Debezium's router reads with its defaults, keyed by its id.
  CHECK(sql.one("SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE "
                "attrelid = 'outbox'::regclass AND attnum > 0") ==
        "id,aggregatetype,aggregateid,type,payload,created_at");
  CHECK(sql.one("SELECT relreplident FROM pg_class WHERE oid = 'outbox'::regclass") == "d");
  ChangeFeedRig rig(p, {"outbox"});
  const std::string events = p.topic + ".ev.order";
  kafka::create_topic(p.env.brokers, events, 4, 1, seconds(30));
  auto feed =
      rig.start("obx", {{"MILLRACE_CHANGEFEED_FORMAT", "outbox"},
                        {"MILLRACE_CHANGEFEED_OUTBOX_TOPIC", p.topic + ".ev.${routedByValue}"}});
  rig.wait_streaming();
  const auto insert = [&](int from, int to) {
    sql.exec(
        "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) SELECT "
        "gen_random_uuid(), 'order', g::text, 'Noted', '{}' FROM generate_series(" +
        std::to_string(from) + ", " + std::to_string(to) + ") g");
  };
  const auto cleanup = [&] {
    std::string text;
    const int rc = run(bin("millrace"), {"outbox", "cleanup", "--slot", rig.slot}, owner, &text);
    INFO(text);
    REQUIRE(rc == 0);
    return sql.count("SELECT count(*) FROM outbox");
  };
  insert(1, 5);
  CHECK(p.read_topic(events, 5).size() == 5);
  // The slot's catalog_xmin moves past the published rows once the feed has
  // decoded PostgreSQL's next record of the running transactions (at least
  // every 15 s while anything is written).
  REQUIRE(eventually(
      [&] {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        return cleanup() == 0;
      },
      seconds(120)));
  CHECK(stop_cleanly({&feed}));
  // Committed while no feed reads the slot: not published, so kept.
  insert(6, 8);
  CHECK(cleanup() == 3);
  std::string refused;
  CHECK(run(bin("millrace"), {"outbox", "cleanup", "--slot", "no_such_slot"}, owner, &refused) ==
        1);
}
