// store_events over time, end to end on the test stack: partitions made for
// events six days old, retention switched on while two sinks write (older
// events counted `expired`), an archiver that has not archived a
// partition's events holding that partition back until it has, the
// partitions then dropped while the sinks write, and the aggregated views
// the same before and after.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <pqxx/pqxx>
#include <thread>

#include "harness.hpp"
#include "pipeline.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::seconds;

namespace {

constexpr int kSixDays = 6 * 86400;

struct Store : InSchema {
  std::int64_t old_partitions(int days) const {
    return count(
        "SELECT count(*) FROM store_partitions WHERE table_name = 'store_events' AND to_ts <= "
        "now() - interval '" +
        std::to_string(days) + " days'");
  }
};

void produce_spread(const Pipeline& p, int count, int seed, double rate) {
  std::string out;
  const int rc = run(
      bin("millrace"),
      {"produce", "--count", std::to_string(count), "--seed", std::to_string(seed), "--bad-ratio",
       "0", "--rate", std::to_string(rate), "--time-spread", std::to_string(kSixDays)},
      {{"MILLRACE_BROKERS", p.env.brokers}, {"MILLRACE_TOPIC", p.topic}}, &out);
  INFO(out);
  REQUIRE(rc == 0);
}

}  // namespace

TEST_CASE("partitions by event time; retention while sinks write, held for the archive",
          "[store-retention]") {
  Pipeline p("it_store");
  std::string out;
  REQUIRE(run(bin("millrace"), {"migrate"},
              {{"MILLRACE_PG", p.env.pg}, {"MILLRACE_PG_SCHEMA", p.schema}}, &out) == 0);
  const Store store{{p}};
  // Caught up: a group's stored offsets reach every record of the topic.
  const auto caught_up = [&](const std::string& group, int timeout_s) {
    return eventually([&] { return p.stored_total(group) == p.records_in_topic(); },
                      seconds(timeout_s));
  };
  const auto root = p.log_dir + "/" + p.topic + ".archive";
  std::filesystem::create_directories(root);
  const std::map<std::string, std::string> archiver_env = {
      {"MILLRACE_ARCHIVER_GROUP", p.group + "_arch"},
      {"MILLRACE_ARCHIVE_ROOT", root},
      {"MILLRACE_ARCHIVE_WINDOW_S", "1"}};
  const std::map<std::string, std::string> aggregator_env = {
      {"MILLRACE_AGGREGATOR_GROUP", p.group + "_agg"}};

  // 1. 4,000 events of the last six days, stored whole: the partitions made
  // ahead cover two days, the sinks make the older ones as events need them.
  produce_spread(p, 4000, 11, 0);
  auto sink_a = std::make_unique<Child>(p.start_sink("sink-a"));
  auto sink_b = std::make_unique<Child>(p.start_sink("sink-b"));
  auto archiver = std::make_unique<Child>(p.start("millrace-archiver", "archiver", archiver_env));
  auto aggregator = p.start("millrace-aggregator", "aggregator", aggregator_env);
  REQUIRE(caught_up(p.group, 180));
  REQUIRE(caught_up(p.group + "_arch", 120));
  CHECK(stop_cleanly({archiver.get()}));
  CHECK(store.count("SELECT count(*) FROM store_partitions WHERE table_name = 'store_events'") >=
        7);
  CHECK(store.count("SELECT count(*) FROM store_events WHERE ts < now() - interval '5 days'") > 0);
  // No default partition: every row is in a partition of its own span.
  CHECK(store.count("SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'store_events'::regclass") ==
        store.count("SELECT count(*) FROM store_partitions WHERE table_name = 'store_events'"));

  // The operator's listing: a line per partition, and rows that add up.
  {
    std::string listing;
    REQUIRE(run(bin("millrace"), {"store", "partitions", "--exact"},
                {{"MILLRACE_PG", p.env.pg}, {"MILLRACE_PG_SCHEMA", p.schema}}, &listing) == 0);
    INFO(listing);
    const auto partitions =
        store.count("SELECT count(*) FROM store_partitions WHERE table_name = 'store_events'");
    const auto rows = store.count("SELECT count(*) FROM store_events");
    CHECK(listing.find(std::to_string(partitions) + " partition(s), " + std::to_string(rows) +
                       " rows") != std::string::npos);
    CHECK(static_cast<std::int64_t>(std::count(listing.begin(), listing.end(), '\n')) ==
          partitions + 1);
  }

  // 2. 1,000 more, stored but not archived (the archiver is stopped).
  produce_spread(p, 1000, 12, 0);
  REQUIRE(caught_up(p.group, 120));

  // 3. Retention of three days switched on while 2,000 more are written, at
  // a pace that spreads them over several maintenance rounds.
  CHECK(stop_cleanly({sink_a.get(), sink_b.get()}));
  // Records kept about old events beside the store: pruned with it.
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("SET LOCAL search_path TO " + tx.quote_name(p.schema));
    tx.exec(
        "INSERT INTO late_events (id, verdict, event_type, ts, store_id, category, sku, price, "
        "qty, discount, is_return, kafka_topic, kafka_partition, kafka_offset) VALUES "
        "(gen_random_uuid(), 'late', 'sale_event', now() - interval '10 days', 1, 'toys', 1, 1, "
        "1, 0, false, 't', 0, 0), (gen_random_uuid(), 'late', 'sale_event', now(), 1, 'toys', 1, "
        "1, 1, 0, false, 't', 0, 1)");
    tx.exec(
        "INSERT INTO refused_records (group_id, topic, partition, kafka_offset, sqlstate, "
        "db_message, payload, refused_at) VALUES ('g', 't', 0, 0, '22P02', 'x', 'x', "
        "now() - interval '10 days')");
    tx.commit();
  }
  const std::map<std::string, std::string> retention = {{"MILLRACE_STORE_RETENTION_DAYS", "3"},
                                                        {"MILLRACE_STORE_MAINTAIN_S", "1"}};
  sink_a = std::make_unique<Child>(p.start_sink("sink-a2", retention));
  sink_b = std::make_unique<Child>(p.start_sink("sink-b2", retention));
  const auto sinks_logged = [&](const std::string& text) {
    for (const std::string name : {"sink-a2", "sink-b2"}) {
      if (read_file(p.log_dir + "/" + p.topic + "." + name + ".log").find(text) !=
          std::string::npos) {
        return true;
      }
    }
    return false;
  };
  const auto before = p.stored_offsets();
  produce_spread(p, 2000, 13, 400);
  REQUIRE(caught_up(p.group, 180));
  REQUIRE(caught_up(p.group + "_agg", 120));

  // Older than the retention: counted expired, none of them stored.
  CHECK(store.count("SELECT sum(expired) FROM partition_accounting WHERE group_id = '" + p.group +
                    "'") > 0);
  CHECK(store.count("SELECT sum(unaccounted) FROM partition_accounting WHERE group_id = '" +
                    p.group + "'") == 0);
  std::string newer;
  for (const auto& [partition, next] : before) {
    newer += (newer.empty() ? "" : " OR ") + std::string("(kafka_partition = ") +
             std::to_string(partition) + " AND kafka_offset >= " + std::to_string(next) + ")";
  }
  CHECK(store.count("SELECT count(*) FROM store_events WHERE (" + newer +
                    ") AND ts < now() - interval '3 days 10 minutes'") == 0);
  CHECK(store.count("SELECT count(*) FROM store_events WHERE (" + newer + ")") > 0);
  // The partitions past it hold events the archiver has not archived: kept.
  CHECK(store.old_partitions(3) >= 2);
  CHECK(store.count("SELECT count(*) FROM late_events") == 1);
  CHECK(store.count("SELECT count(*) FROM refused_records") == 0);
  CHECK(sinks_logged("kept partition"));
  // The views of days older than two: the events still to come are of the
  // last hour.
  const auto old_views = [&] {
    return store.one(
               "SELECT string_agg(t::text, ';' ORDER BY t::text) FROM hourly_sales t "
               "WHERE window_start < now() - interval '2 days'") +
           "\n" +
           store.one(
               "SELECT string_agg(t::text, ';' ORDER BY t::text) FROM daily_sales t "
               "WHERE window_start < now() - interval '3 days'");
  };
  const auto views_before = old_views();
  CHECK(views_before.size() > 100);
  const auto persisted = [&] {
    return store.count("SELECT sum(persisted) FROM partition_accounting WHERE group_id = '" +
                       p.group + "'");
  };
  const auto persisted_before = persisted();
  const auto offsets_before = p.stored_offsets();

  // 4. The archiver catches up while events of the last hour are written,
  // 200 at a time at 100/s, until a round has dropped those partitions and
  // then once more: the drops happen as the sinks write.
  archiver = std::make_unique<Child>(p.start("millrace-archiver", "archiver-2", archiver_env));
  std::atomic<bool> dropped_seen{false};
  std::atomic<int> failed_runs{0}, chunks{0}, chunks_after_drop{0};
  std::thread producer([&] {
    for (int seed = 100; seed < 160; ++seed) {
      const bool last = dropped_seen;
      std::string printed;
      if (run(bin("millrace"),
              {"produce", "--count", "200", "--seed", std::to_string(seed), "--bad-ratio", "0",
               "--rate", "100", "--time-spread", "3600"},
              {{"MILLRACE_BROKERS", p.env.brokers}, {"MILLRACE_TOPIC", p.topic}}, &printed) != 0) {
        ++failed_runs;
      }
      ++chunks;
      if (last) {
        ++chunks_after_drop;
        return;
      }
    }
  });
  const bool dropped = eventually([&] { return store.old_partitions(3) == 0; }, seconds(120));
  dropped_seen = true;
  producer.join();
  REQUIRE(failed_runs == 0);
  REQUIRE(dropped);
  // One chunk at least was being written when the drop was seen, and one
  // more began after it.
  CHECK(chunks >= 2);
  CHECK(chunks_after_drop == 1);
  CHECK(sinks_logged("dropped partition"));
  REQUIRE(caught_up(p.group, 120));
  REQUIRE(caught_up(p.group + "_arch", 120));
  REQUIRE(caught_up(p.group + "_agg", 120));
  CHECK(store.count("SELECT count(*) FROM store_events WHERE ts < now() - interval '4 days'") == 0);
  // Every kept event written meanwhile is stored once: rows and accounting
  // agree, and none went missing or twice.
  std::string recent;
  for (const auto& [partition, next] : offsets_before) {
    recent += (recent.empty() ? "" : " OR ") + std::string("(kafka_partition = ") +
              std::to_string(partition) + " AND kafka_offset >= " + std::to_string(next) + ")";
  }
  const auto stored_recent = store.count("SELECT count(*) FROM store_events WHERE " + recent);
  CHECK(stored_recent > 0);
  CHECK(persisted() - persisted_before == stored_recent);
  CHECK(store.count("SELECT sum(unaccounted) FROM partition_accounting WHERE group_id = '" +
                    p.group + "'") == 0);
  // The views come from the aggregator's own tables: dropping events
  // changes none of them.
  CHECK(old_views() == views_before);
  CHECK(stop_cleanly({sink_a.get(), sink_b.get(), archiver.get(), &aggregator}));
}

// An install from before the partitions: store_events one table with rows,
// grants and a publication. `millrace migrate` moves every row into
// partitions, says how far it got as it goes, keeps the grants and the
// publication, and the sink then goes on from the stored offsets.
TEST_CASE("an unpartitioned store_events with rows is converted by migrate", "[store-convert]") {
  Pipeline p("it_storecv");
  std::string out;
  const std::map<std::string, std::string> owner = {{"MILLRACE_PG", p.env.pg},
                                                    {"MILLRACE_PG_SCHEMA", p.schema}};
  REQUIRE(run(bin("millrace"), {"migrate"}, owner, &out) == 0);
  const Store store{{p}};
  // The change feed's role, which reads the table for its snapshots.
  const std::string role = "millrace_changefeed";
  const std::string pub = p.schema + "_pub";
  {
    // Back to the layout of migrations 0001 and 0007 (without 0011, 0012 and
    // 0018, and with the kinds' tables to be made again), with 20,000 rows
    // over five days and the offsets a sink stored for them.
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("SET LOCAL search_path TO " + tx.quote_name(p.schema));
    tx.exec(
        "DROP FUNCTION millrace_partitions_ensure(text, timestamptz, timestamptz); "
        "DROP FUNCTION millrace_partitions_expire(text, interval); "
        "DROP FUNCTION millrace_partitions_prune(text, interval); "
        "DROP FUNCTION millrace_partitioned_table(text, text); "
        "DROP TABLE store_events; DROP VIEW store_layout; DROP TABLE store_partitions; "
        "DROP TABLE order_lines, orders, trades, partitioned_tables, kind_identities; "
        "DROP INDEX late_events_ts_idx, refused_records_refused_at_idx, "
        "late_records_event_ts_idx; "
        "DELETE FROM schema_migrations WHERE version IN (11, 12, 18)");
    tx.exec(
        "CREATE TABLE store_events (id uuid PRIMARY KEY, request_id uuid NOT NULL, "
        "event_type text NOT NULL CHECK (event_type IN ('sale_event', 'inventory_event')), "
        "store_id integer NOT NULL, store_fqdn text NOT NULL, store_ip inet NOT NULL, "
        "cust_id bigint NOT NULL, category text NOT NULL, sku bigint NOT NULL, "
        "price numeric NOT NULL, qty integer NOT NULL, discount numeric NOT NULL, "
        "gift_wrap boolean NOT NULL, variant text NOT NULL, priority_shipping boolean NOT NULL, "
        "ts timestamptz NOT NULL, contact_me text, is_return boolean NOT NULL, "
        "kafka_topic text NOT NULL, kafka_partition integer NOT NULL, kafka_offset bigint NOT "
        "NULL, ingested_at timestamptz NOT NULL DEFAULT now(), product_name text, "
        "product_brand text, product_category text)");
    tx.exec("CREATE INDEX store_events_ts_idx ON store_events (ts)");
    tx.exec(
        "CREATE INDEX store_events_source_idx ON store_events "
        "(kafka_topic, kafka_partition, kafka_offset)");
    tx.exec(
        "INSERT INTO store_events SELECT gen_random_uuid(), gen_random_uuid(), 'sale_event', "
        "g % 50, 'store.example', '10.0.0.1', g, 'toys', g % 1000, 9.99, 1, 25, false, 'v', "
        "false, now() - (g * interval '21 seconds'), NULL, false, " +
        tx.quote(p.topic) +
        ", g % 4, g / 4, now(), NULL, NULL, NULL FROM generate_series(0, 19999) g");
    tx.exec("INSERT INTO consumer_groups (group_id, kind) VALUES (" + tx.quote(p.group) +
            ", 'sink') ON CONFLICT DO NOTHING");
    tx.exec(
        "INSERT INTO consumer_offsets (group_id, topic, partition, next_offset) "
        "SELECT " +
        tx.quote(p.group) + ", " + tx.quote(p.topic) + ", k, 5000 FROM generate_series(0, 3) k");
    tx.exec("GRANT SELECT ON store_events TO " + tx.quote_name(role));
    tx.exec("GRANT SELECT ON store_events TO PUBLIC");
    tx.exec("DROP PUBLICATION IF EXISTS " + tx.quote_name(pub));
    tx.exec("CREATE PUBLICATION " + tx.quote_name(pub) + " FOR TABLE store_events");
    tx.commit();
  }
  const auto digest = [&] {
    return store.one(
        "SELECT md5(string_agg(id::text || ts::text || kafka_offset, ',' "
        "ORDER BY id)) FROM store_events");
  };
  const auto before = digest();

  std::string printed;
  const int migrated = run_shell("MILLRACE_PG='" + p.env.pg + "' MILLRACE_PG_SCHEMA='" + p.schema +
                                     "' '" + bin("millrace") + "' migrate 2>&1",
                                 &printed);
  INFO(printed);
  REQUIRE(migrated == 0);
  CHECK(printed.find("20000 of 20000 rows moved") != std::string::npos);
  CHECK(store.count("SELECT count(*) FROM store_events") == 20000);
  CHECK(digest() == before);
  CHECK(store.one("SELECT relkind::text FROM pg_class WHERE oid = 'store_events'::regclass") ==
        "p");
  CHECK(store.count("SELECT count(*) FROM store_partitions WHERE table_name = 'store_events'") >=
        6);
  CHECK(store.one("SELECT to_regclass('store_events_unpartitioned')::text").empty());
  CHECK(store.one("SELECT has_table_privilege('" + role + "', 'store_events', 'SELECT')") == "t");
  CHECK(store.count("SELECT count(*) FROM information_schema.table_privileges WHERE "
                    "table_schema = '" +
                    p.schema + "' AND table_name = 'store_events' AND grantee = 'PUBLIC'") == 1);
  CHECK(store.one("SELECT pubviaroot::text FROM pg_publication WHERE pubname = '" + pub + "'") ==
        "true");
  CHECK(store.count("SELECT count(*) FROM pg_publication_tables WHERE pubname = '" + pub +
                    "' AND tablename = 'store_events'") == 1);
  CHECK(store.count("SELECT sum(next_offset) FROM consumer_offsets WHERE group_id = '" + p.group +
                    "'") == 20000);
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("DROP PUBLICATION " + tx.quote_name(pub));
    tx.commit();
  }
}
