// A declared kind's tables over time (issue 65), with orders on the test
// stack: partitions of orders and order_lines made by millrace-sink --kind
// order, the orders older than MILLRACE_ORDERS_RETENTION dropped with
// their lines while the sink runs, older orders sent after that counted
// `expired` and not stored, a resend under another time still a duplicate,
// and late_records pruned by the kind's retention. And an install from
// before the kinds were partitioned: `millrace migrate` converts its
// unpartitioned orders and order_lines, keeping every row, grant and
// publication, and the sink goes on.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/pg/kind_tables.hpp"
#include "orders_support.hpp"
#include "pipeline.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::seconds;

namespace {

struct Db : InSchema {
  // Until `query` gives `want`, for at most `timeout`.
  bool wait_for(const std::string& query, std::int64_t want, seconds timeout) const {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (count(query) == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return false;
  }
};

std::map<std::string, std::string> order_env(const Pipeline& p,
                                             std::map<std::string, std::string> extra = {}) {
  extra.insert({{"MILLRACE_KIND", "order"},
                {"MILLRACE_ORDERS_TOPIC", p.topic},
                {"MILLRACE_ORDERS_PII", "keep"},
                {"MILLRACE_STORE_MAINTAIN_S", "1"}});
  return extra;
}

// An order of one line, `hours` hours before now (UTC, whole seconds).
std::string order(const std::string& id, double hours, const std::string& total = "12.5") {
  const auto at = std::chrono::system_clock::now() -
                  std::chrono::seconds(static_cast<std::int64_t>(hours * 3600));
  const std::time_t t = std::chrono::system_clock::to_time_t(at);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return R"({"PaymentTransactionId": ")" + id + R"(", "OrderDate": ")" + when + R"(", "Total": )" +
         total + R"(, "Details": [{"Email": "", "ProductId": 100000, )" +
         R"("Quantity": 1, "UnitPrice": )" + total + "}]}";
}

// Sends `lines` (millrace produce --kind order --file); the records are
// keyed by their identity.
void produce(const Pipeline& p, const std::vector<std::string>& lines, const std::string& name) {
  const std::string path = p.log_dir + "/" + p.topic + "." + name + ".ndjson";
  {
    std::ofstream out(path);
    for (const auto& line : lines) out << line << "\n";
  }
  std::string summary;
  const int rc = orders::produce_orders(p, {"--file", path}, &summary);
  INFO(summary);
  REQUIRE(rc == 0);
}

std::string accounting_of(const Pipeline& p) {
  return "SELECT coalesce(sum(%s), 0) FROM partition_accounting WHERE group_id = '" + p.group + "'";
}

std::int64_t accounted(const Db& db, const Pipeline& p, const std::string& column) {
  auto q = accounting_of(p);
  q.replace(q.find("%s"), 2, column);
  return db.count(q);
}

void migrate(const Pipeline& p) {
  std::string out;
  const int rc = run(bin("millrace"), {"migrate"},
                     {{"MILLRACE_PG", p.env.pg}, {"MILLRACE_PG_SCHEMA", p.schema}}, &out);
  INFO(out);
  REQUIRE(rc == 0);
}

}  // namespace

TEST_CASE("orders in partitions by OrderDate: retention drops old ones, counted expired",
          "[orders-retention]") {
  Pipeline p("it_ordret");
  migrate(p);
  const Db db{{p}};
  // Made by migrate: both tables partitioned, and the days around now.
  CHECK(db.one("SELECT relkind::text FROM pg_class WHERE oid = 'orders'::regclass") == "p");
  CHECK(db.one("SELECT relkind::text FROM pg_class WHERE oid = 'order_lines'::regclass") == "p");
  CHECK(db.one("SELECT partition_minutes::text || ' ' || time_column || ' ' || lines_table FROM "
               "partitioned_tables WHERE kind = 'order'") == "1440 order_date order_lines");
  CHECK(db.count("SELECT count(*) FROM store_partitions WHERE table_name = 'orders'") >= 3);

  // 1. Without a retention: orders ten days old and fresh ones are stored,
  //    the old ones in partitions made for them on the spot.
  std::vector<std::string> first;
  for (int i = 0; i < 20; ++i) first.push_back(order("old-" + std::to_string(i), 240 + i));
  for (int i = 0; i < 30; ++i) first.push_back(order("new-" + std::to_string(i), 0.5 + i / 10.0));
  produce(p, first, "first");
  {
    auto sink = p.start_sink("sink-keep", order_env(p));
    REQUIRE(orders::wait_stored(p, seconds(120)));
    CHECK(stop_cleanly({&sink}));
  }
  CHECK(db.count("SELECT count(*) FROM orders") == 50);
  CHECK(db.count("SELECT count(*) FROM order_lines") == 50);
  CHECK(db.count("SELECT count(*) FROM kind_identities WHERE kind = 'order'") == 50);
  // A record and its lines in partitions of the same span.
  CHECK(db.count("SELECT count(*) FROM store_partitions WHERE table_name = 'orders' AND to_ts <= "
                 "now() - interval '3 days' AND lines_name LIKE 'order_lines_p%'") >= 1);
  CHECK(db.count("SELECT count(*) FROM orders o JOIN store_partitions s ON "
                 "to_regclass(quote_ident(s.name)) = o.tableoid JOIN order_lines l ON "
                 "l.payment_transaction_id = o.payment_transaction_id AND l.tableoid = "
                 "to_regclass(quote_ident(s.lines_name))") == 50);

  // The aggregator's late records of orders, and of another kind.
  db.exec(
      "INSERT INTO late_records (kind, identity, verdict, event_ts, kafka_topic, "
      "kafka_partition, kafka_offset, payload) VALUES "
      "('order', 'late-old', 'late', now() - interval '10 days', 't', 0, 1, '{}'), "
      "('order', 'late-new', 'late', now() - interval '2 days', 't', 0, 2, '{}'), "
      "('shipment', 'late-other', 'late', now() - interval '10 days', 't', 0, 3, '{}')");

  // 2. A retention of three days, set for the sink, not in the declaration.
  auto sink = p.start_sink("sink-retain", order_env(p, {{"MILLRACE_ORDERS_RETENTION", "3d"}}));
  REQUIRE(
      db.wait_for("SELECT count(*) FROM store_partitions WHERE table_name = 'orders' AND "
                  "to_ts <= now() - interval '3 days'",
                  0, seconds(120)));
  CHECK(db.count("SELECT count(*) FROM orders") == 30);
  CHECK(db.count("SELECT count(*) FROM orders WHERE payment_transaction_id LIKE 'old-%'") == 0);
  CHECK(db.count("SELECT count(*) FROM order_lines") == 30);
  CHECK(db.count("SELECT count(*) FROM kind_identities WHERE kind = 'order'") == 30);
  CHECK(db.wait_for("SELECT count(*) FROM late_records", 2, seconds(60)));
  CHECK(db.one("SELECT string_agg(identity, ',' ORDER BY identity) FROM late_records") ==
        "late-new,late-other");

  // 3. Older orders sent now are counted expired; a resend of a stored
  //    order under another time is still a duplicate; new ones are stored.
  std::vector<std::string> second;
  for (int i = 0; i < 7; ++i) second.push_back(order("older-" + std::to_string(i), 100 + i));
  second.push_back(order("old-3", 243));        // its first copy was dropped
  second.push_back(order("new-4", 5, "99.5"));  // stored already, at another time
  for (int i = 0; i < 5; ++i) second.push_back(order("fresh-" + std::to_string(i), 1));
  produce(p, second, "second");
  REQUIRE(orders::wait_stored(p, seconds(120)));
  CHECK(stop_cleanly({&sink}));

  CHECK(db.count("SELECT count(*) FROM orders") == 35);
  CHECK(db.count("SELECT count(*) FROM order_lines") == 35);
  CHECK(db.one("SELECT total::text FROM orders WHERE payment_transaction_id = 'new-4'") == "12.5");
  CHECK(db.count("SELECT count(*) FROM orders WHERE order_date < now() - interval '3 days'") == 0);
  CHECK(accounted(db, p, "consumed") == 64);
  CHECK(accounted(db, p, "persisted") == 55);
  CHECK(accounted(db, p, "expired") == 8);
  CHECK(accounted(db, p, "duplicate") == 1);
  CHECK(accounted(db, p, "unaccounted") == 0);
  CHECK(db.count("SELECT coalesce(sum(records), 0) FROM record_outcomes WHERE group_id = '" +
                 p.group + "' AND outcome = 'expired' AND reason = 'retention'") == 8);
}

// An install from before the kinds were partitioned: orders and
// order_lines as pg/kind_tables.cpp made them then, with rows, grants and
// a publication.
TEST_CASE("unpartitioned orders and order_lines with rows are converted by migrate",
          "[orders-convert]") {
  Pipeline p("it_ordcv");
  migrate(p);
  const Db db{{p}};
  const auto d = kinds::find_kind("order", "");
  const std::string pub = p.schema + "_orders_pub";
  {
    std::string old_orders = "CREATE TABLE orders (";
    for (const auto& f : d.fields) {
      old_orders += f.column + " " + pg::column_type(f.type) +
                    (f.required && !f.pii ? " NOT NULL" : "") +
                    (&f == &d.identity_field() ? " PRIMARY KEY" : "") + ", ";
    }
    old_orders +=
        "kafka_topic text NOT NULL, kafka_partition integer NOT NULL, kafka_offset bigint NOT "
        "NULL, stored_at timestamptz NOT NULL DEFAULT now())";
    db.exec(
        "DROP TABLE order_lines, orders; "
        "DELETE FROM store_partitions WHERE table_name = 'orders'; "
        "DELETE FROM partitioned_tables WHERE table_name = 'orders'; "
        "DELETE FROM kind_identities WHERE kind = 'order'; " +
        old_orders +
        "; CREATE INDEX orders_order_date_idx ON orders (order_date); "
        "CREATE TABLE order_lines (payment_transaction_id text NOT NULL REFERENCES orders "
        "(payment_transaction_id) ON DELETE CASCADE, line_no integer NOT NULL, email text, "
        "product_id bigint NOT NULL, quantity bigint NOT NULL, unit_price numeric NOT NULL, "
        "PRIMARY KEY (payment_transaction_id, line_no)); "
        // A column a later declaration no longer names: kept.
        "ALTER TABLE orders ADD COLUMN legacy_note text; "
        "INSERT INTO orders (payment_transaction_id, order_date, total, region, kafka_topic, "
        "kafka_partition, kafka_offset, legacy_note) SELECT 'tx-' || g, now() - g * interval "
        "'83 seconds', g % 100 + 0.25, 'West US', 'store-orders', g % 4, g / 4, 'n' || g "
        "FROM generate_series(0, 4999) g; "
        "INSERT INTO order_lines SELECT 'tx-' || g, k, '', 100000 + k, k, 1.5 FROM "
        "generate_series(0, 4999) g, generate_series(1, 1 + g % 3) k; "
        "GRANT SELECT ON orders, order_lines TO PUBLIC; "
        "DROP PUBLICATION IF EXISTS " +
        pub + "; CREATE PUBLICATION " + pub + " FOR TABLE orders, order_lines");
  }
  CHECK(db.one("SELECT relkind::text FROM pg_class WHERE oid = 'orders'::regclass") == "r");
  const auto digest = [&] {
    return db.one(
               "SELECT md5(string_agg(payment_transaction_id || order_date::text || total::text "
               "|| kafka_offset || coalesce(legacy_note, ''), ',' ORDER BY "
               "payment_transaction_id)) FROM orders") +
           db.one(
               "SELECT md5(string_agg(payment_transaction_id || line_no || product_id || "
               "quantity || unit_price::text, ',' ORDER BY payment_transaction_id, line_no)) "
               "FROM order_lines");
  };
  const auto before = digest();
  const auto lines = db.count("SELECT count(*) FROM order_lines");
  REQUIRE(lines == 10000 - 1);  // 1 + g % 3 lines for g in 0..4999

  migrate(p);
  CHECK(db.one("SELECT relkind::text FROM pg_class WHERE oid = 'orders'::regclass") == "p");
  CHECK(db.one("SELECT relkind::text FROM pg_class WHERE oid = 'order_lines'::regclass") == "p");
  CHECK(db.count("SELECT count(*) FROM orders") == 5000);
  CHECK(db.count("SELECT count(*) FROM order_lines") == lines);
  CHECK(digest() == before);
  CHECK(db.one("SELECT to_regclass('orders_unpartitioned')::text").empty());
  CHECK(db.one("SELECT to_regclass('order_lines_unpartitioned')::text").empty());
  CHECK(db.count("SELECT count(*) FROM store_partitions WHERE table_name = 'orders'") >= 6);
  CHECK(db.count("SELECT count(*) FROM kind_identities WHERE kind = 'order'") == 5000);
  for (const char* table : {"orders", "order_lines"}) {
    INFO(table);
    CHECK(db.count("SELECT count(*) FROM information_schema.table_privileges WHERE "
                   "table_schema = '" +
                   p.schema + "' AND table_name = '" + table +
                   "' AND grantee = 'PUBLIC' AND privilege_type = 'SELECT'") == 1);
    CHECK(db.count("SELECT count(*) FROM pg_publication_tables WHERE pubname = '" + pub +
                   "' AND tablename = '" + table + "'") == 1);
  }
  CHECK(db.one("SELECT pubviaroot::text FROM pg_publication WHERE pubname = '" + pub + "'") ==
        "true");
  // Migrating again changes nothing.
  migrate(p);
  CHECK(digest() == before);

  // The sink goes on: a resend of a converted order under another time is
  // a duplicate, a new order is stored with its line.
  produce(p, {order("tx-17", 1, "1"), order("tx-new", 1)}, "after");
  auto sink = p.start_sink("sink", order_env(p));
  REQUIRE(orders::wait_stored(p, seconds(120)));
  CHECK(stop_cleanly({&sink}));
  CHECK(db.count("SELECT count(*) FROM orders") == 5001);
  CHECK(db.count("SELECT count(*) FROM order_lines WHERE payment_transaction_id = 'tx-new'") == 1);
  CHECK(accounted(db, p, "duplicate") == 1);
  CHECK(accounted(db, p, "persisted") == 1);
  db.exec("DROP PUBLICATION IF EXISTS " + pub);
}
