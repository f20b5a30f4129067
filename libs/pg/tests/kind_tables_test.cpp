// The DDL of a declared kind's tables, from its declaration, without a
// server: both tables partitioned on the record's time, with the same
// bounds, and keys that hold it (integration.orders-retention runs it).
#include "millrace/pg/kind_tables.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/kinds/registry.hpp"
#include "millrace/pg/declared_views.hpp"

using namespace millrace;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;

TEST_CASE("an order's tables are partitioned by its time, the lines with their order") {
  const auto d = kinds::find_kind("order", "");
  const auto sql = pg::kind_table_statements(d);
  REQUIRE(sql.size() >= 2);
  CHECK_THAT(sql[0],
             StartsWith("CREATE TABLE IF NOT EXISTS orders (payment_transaction_id text "
                        "NOT NULL, order_date timestamptz NOT NULL, total numeric NOT NULL"));
  CHECK_THAT(sql[0], EndsWith("stored_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY "
                              "(order_date, payment_transaction_id)) PARTITION BY RANGE "
                              "(order_date)"));
  CHECK_THAT(sql[1], StartsWith("CREATE TABLE IF NOT EXISTS order_lines (payment_transaction_id "
                                "text NOT NULL, order_date timestamptz NOT NULL, line_no integer "
                                "NOT NULL, "));
  CHECK_THAT(sql[1],
             EndsWith("PRIMARY KEY (order_date, payment_transaction_id, line_no), FOREIGN KEY "
                      "(order_date, payment_transaction_id) REFERENCES orders (order_date, "
                      "payment_transaction_id) ON DELETE CASCADE) PARTITION BY RANGE "
                      "(order_date)"));
  // The sink writes a line with its record's time.
  CHECK(pg::line_columns(d) == std::vector<std::string>{"payment_transaction_id", "order_date",
                                                        "line_no", "email", "product_id",
                                                        "quantity", "unit_price"});
}

TEST_CASE("a kind's partitioned table row carries its declared span") {
  auto d = kinds::find_kind("order", "");
  CHECK(pg::partitioned_table_statement(d) ==
        "INSERT INTO partitioned_tables (table_name, time_column, lines_table, kind, "
        "partition_minutes) VALUES ('orders', 'order_date', 'order_lines', 'order', 1440) ON "
        "CONFLICT (table_name) DO UPDATE SET partition_minutes = excluded.partition_minutes");
  d.storage.partition_span = std::chrono::minutes(60);
  d.lines.reset();
  CHECK_THAT(pg::partitioned_table_statement(d),
             Contains("VALUES ('orders', 'order_date', NULL, 'order', 60)"));
}

TEST_CASE("a kind's table names are those its statements create, by who writes them") {
  const auto d = kinds::find_kind("order", "");
  const auto names = pg::kind_table_names(d);
  CHECK(names.records == std::vector<std::string>{"orders", "order_lines"});
  CHECK(names.sums == std::vector<std::string>{"agg_web_orders_hourly", "agg_web_orders_daily",
                                               "agg_web_orders_items"});
  CHECK(names.views == std::vector<std::string>{"agg_view_web_orders_top_products_per_local_day"});
  std::vector<std::string> created;
  for (const auto& sql : pg::kind_table_statements(d)) {
    constexpr std::string_view kCreate = "CREATE TABLE IF NOT EXISTS ";
    if (!sql.starts_with(kCreate)) continue;
    created.push_back(sql.substr(kCreate.size(), sql.find(' ', kCreate.size()) - kCreate.size()));
  }
  auto all = names.records;
  all.insert(all.end(), names.sums.begin(), names.sums.end());
  all.insert(all.end(), names.views.begin(), names.views.end());
  std::sort(all.begin(), all.end());
  std::sort(created.begin(), created.end());
  CHECK(all == created);
  // The store event's sums are the tables migration 0002 made, which its
  // declared views adopt: named, never created by a statement here.
  const auto store_event = kinds::find_kind("store_event", "");
  CHECK(pg::kind_table_names(store_event).sums ==
        std::vector<std::string>{"agg_hourly", "agg_daily", "agg_products", "agg_categories"});
  CHECK(pg::kind_table_names(store_event).views.empty());
  CHECK(pg::declared_view_statements(store_event).empty());
}

TEST_CASE("a kind's enrichment columns go on the table holding its sku") {
  auto d = kinds::find_kind("order", "");
  CHECK_FALSE(pg::enriched_table(d).has_value());
  d.enrich = kinds::EnrichDecl{true, 0};
  CHECK(pg::enriched_table(d) == "order_lines");
  d.enrich = kinds::EnrichDecl{false, 0};
  CHECK(pg::enriched_table(d) == "orders");
  CHECK(pg::enriched_table(kinds::find_kind("store_event", "")) == "store_events");
}

TEST_CASE("a kind's asset columns go on the table holding its symbol") {
  auto d = kinds::find_kind("order", "");
  CHECK_FALSE(pg::asset_enriched_table(d).has_value());
  d.enrich_asset = kinds::AssetEnrichDecl{true, 0};
  CHECK(pg::asset_enriched_table(d) == "order_lines");
  CHECK_FALSE(pg::enriched_table(d).has_value());  // no sku: no product columns
  CHECK(pg::asset_enriched_table(kinds::find_kind("trade", "")) == "trades");
  CHECK_FALSE(pg::asset_enriched_table(kinds::find_kind("store_event", "")).has_value());
}
