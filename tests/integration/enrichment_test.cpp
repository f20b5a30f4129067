// The sink's enrichment on the test stack: stored rows carry the catalog as
// it was at ingestion, which the sink follows live through the change feed.
#include <catch2/catch.hpp>
#include <chrono>
#include <pqxx/pqxx>
#include <string>

#include "cache_support.hpp"
#include "harness.hpp"
#include "scrape.hpp"

using namespace millrace::testing;
using namespace millrace::testing::cache_tests;
using namespace std::chrono_literals;

namespace {

// store_events rows whose enrichment is not `expected` for their sku:
// "catalog" (equal to the products row now), "null" (all three NULL).
long long rows_not(CacheRig& rig, const std::string& expected) {
  pqxx::connection c(rig.p.env.pg);
  pqxx::nontransaction tx(c);
  tx.exec("SET search_path TO " + tx.quote_name(rig.p.schema));
  const std::string matches =
      expected == "null"
          ? "e.product_name IS NULL AND e.product_brand IS NULL AND e.product_category IS NULL"
          : "e.product_name IS NOT DISTINCT FROM p.name AND e.product_brand IS NOT DISTINCT "
            "FROM p.brand AND e.product_category IS NOT DISTINCT FROM p.category AND "
            "p.sku IS NOT NULL";
  return tx
      .exec1(
          "SELECT count(*) FROM store_events e LEFT JOIN products p ON p.sku = e.sku "
          "WHERE NOT (" +
          matches + ")")[0]
      .as<long long>();
}

long long stored_rows(CacheRig& rig) {
  pqxx::connection c(rig.p.env.pg);
  pqxx::nontransaction tx(c);
  return tx.exec1("SELECT count(*) FROM " + tx.quote_name(rig.p.schema) + ".store_events")[0]
      .as<long long>();
}

}  // namespace

TEST_CASE("enrichment: rows carry the catalog as it was at ingestion, followed live", "[enrich]") {
  CacheRig rig(4);
  auto sink = rig.p.start_sink(
      "sink", {{"MILLRACE_SINK_ENRICH", "true"}, {"MILLRACE_CHANGES_TOPIC", rig.feed->topic}});
  const auto products_written = [&] {
    return scrape_metric(sink.metrics_port, "millrace_cache_invalidations_total",
                         {{"table", "products"}});
  };

  // Every sku the generator draws is in the catalog.
  rig.p.produce(3000, 1, 0.0);
  REQUIRE(rig.p.wait_caught_up(180s));
  const auto first = stored_rows(rig);
  REQUIRE(first > 0);
  CHECK(rows_not(rig, "catalog") == 0);
  CHECK(scrape_metric(sink.metrics_port, "millrace_sink_enriched_total", {{"sku", "known"}}) ==
        first);

  // A change to the catalog reaches the sink's lookup through the feed,
  // without a restart; rows stored before keep what they were given.
  const double before = products_written();
  rig.exec("UPDATE products SET brand = 'Brand changed live'");
  CHECK(progresses_to(products_written, before + 6000, 30s));
  rig.p.produce(3000, 2, 0.0);
  REQUIRE(rig.p.wait_caught_up(180s));
  const auto second = stored_rows(rig);
  REQUIRE(second > first);
  {
    pqxx::connection c(rig.p.env.pg);
    pqxx::nontransaction tx(c);
    tx.exec("SET search_path TO " + tx.quote_name(rig.p.schema));
    CHECK(
        tx.exec1("SELECT count(*) FROM store_events WHERE product_brand = 'Brand changed live'")[0]
            .as<long long>() == second - first);
  }

  // Unknown skus: NULL, and counted, not refused.
  const double written = products_written();
  rig.exec("DELETE FROM products");
  CHECK(progresses_to(products_written, written + 6000, 30s));
  rig.p.produce(3000, 3, 0.0);
  REQUIRE(rig.p.wait_caught_up(180s));
  const auto third = stored_rows(rig);
  REQUIRE(third > second);
  CHECK(scrape_metric(sink.metrics_port, "millrace_sink_enriched_total", {{"sku", "unknown"}}) ==
        third - second);
  {
    pqxx::connection c(rig.p.env.pg);
    pqxx::nontransaction tx(c);
    tx.exec("SET search_path TO " + tx.quote_name(rig.p.schema));
    CHECK(tx.exec1("SELECT count(*) FROM store_events WHERE product_name IS NULL")[0]
              .as<long long>() == third - second);
  }
  CHECK(stop_cleanly({&sink}));
  const auto verdict = rig.p.verify();
  CHECK(verdict.lost == 0);
  CHECK(verdict.duplicated == 0);
}
