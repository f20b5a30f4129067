// The orders' aggregator (millrace-aggregator --kind order): its views
// against a recomputation from the generator with the same seed, with
// resends and late orders, and identities folded before migration 0022
// still resends after it.

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <set>
#include <thread>
#include <tuple>

#include "changes.hpp"
#include "generated_catalog.hpp"
#include "http_client.hpp"
#include "millrace/catalog/generated.hpp"
#include "millrace/core/partitioner.hpp"
#include "millrace/core/window.hpp"
#include "millrace/kafka/admin.hpp"
#include "millrace/kinds/generator.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/webhooks/signature.hpp"
#include "orders_support.hpp"
#include "pipeline.hpp"
#include "receiver.hpp"
#include "webhooks.hpp"

using namespace millrace;
using namespace millrace::testing;
using namespace millrace::testing::orders;
using std::chrono::seconds;

namespace {

// One window's, product's or category's expected figures.
struct Expected {
  std::int64_t records = 0;
  core::Int128 amount = 0;  // micro-units
  std::int64_t units = 0;
};

// `count` orders of `seed` ending at `base_time`, spread over `spread_s`.
std::vector<kinds::Record> good_orders(const kinds::Declaration& d, std::uint64_t seed,
                                       std::int64_t count, std::string_view base_time,
                                       std::int64_t spread_s) {
  auto generator = order_generator(d, seed, 0.02, base_time, spread_s);
  std::vector<kinds::Record> out;
  for (std::int64_t i = 0; i < count; ++i) {
    const auto r = generator.next();
    if (!r.expected) out.push_back(std::get<kinds::Record>(kinds::parse_record(d, r.payload)));
  }
  return out;
}

// Folds the whole topic with the orders' aggregator, in a group of its
// own; returns the group.
std::string aggregate_topic(Pipeline& p) {
  const std::string group = p.topic + "_aggregator";
  auto env = order_env(p, "keep");
  env["MILLRACE_AGGREGATOR_GROUP"] = group;
  auto aggregator = p.start("millrace-aggregator", "aggregator", env);
  REQUIRE(wait_stored(p, seconds(240), group));
  CHECK(stop_cleanly({&aggregator}));
  return group;
}

core::Int128 micros(const std::string& numeric) {
  // numeric text with up to six decimals.
  return core::Decimal::parse(numeric)->units();
}

}  // namespace

TEST_CASE("the aggregator's order views match a recomputation, with resends and late orders",
          "[orders-views]") {
  Pipeline p("it_orders_views");
  const auto d = kinds::find_kind("order", "");
  migrate_with_generated_catalog(p);

  // Six hours of orders, sent twice; then orders three days older (late,
  // but within the 7-day horizon: they correct past windows); then orders
  // a month older (beyond it: kept aside in late_records).
  struct Upload {
    std::uint64_t seed;
    std::int64_t count;
    std::string base_time;
    std::int64_t spread_s;
  };
  const std::vector<Upload> uploads = {{11, 1500, "2026-11-20T12:00:00Z", 6 * 3600},
                                       {11, 1500, "2026-11-20T12:00:00Z", 6 * 3600},
                                       {12, 300, "2026-11-17T12:00:00Z", 3600},
                                       {13, 100, "2026-10-20T12:00:00Z", 3600}};
  std::int64_t sent = 0;
  for (const auto& u : uploads) {
    std::string summary;
    REQUIRE(produce_orders(p,
                           {"--count", std::to_string(u.count), "--seed", std::to_string(u.seed),
                            "--bad-ratio", "0.02", "--base-time", u.base_time, "--time-spread",
                            std::to_string(u.spread_s)},
                           &summary) == 0);
    sent += u.count;
  }
  const std::string group = aggregate_topic(p);

  // The recomputation: each identity once, from the generator.
  const auto& a = *d.aggregate;
  std::map<std::int64_t, std::string> category_of;
  for (const auto& product : catalog::generated_products())
    category_of[product.sku] = product.category;
  std::map<core::TimestampUs, Expected> hourly, daily;
  std::map<std::int64_t, Expected> items;
  std::map<std::string, Expected> by_category;
  std::set<std::string> seen;
  std::int64_t folded = 0, resent = 0;
  for (const auto& u : {uploads[0], uploads[1], uploads[2]}) {
    for (const auto& r : good_orders(d, u.seed, u.count, u.base_time, u.spread_s)) {
      if (!seen.insert(r.identity(d)).second) {
        ++resent;
        continue;
      }
      ++folded;
      const auto total = std::get<core::Decimal>(r.values[*a.amount]).units();
      std::int64_t units = 0;
      std::set<std::int64_t> products_of_order;
      for (const auto& line : r.lines) {
        const auto item = std::get<std::int64_t>(line[*a.item]);
        const auto quantity = std::get<std::int64_t>(line[*a.quantity]);
        const core::Int128 amount =
            quantity * static_cast<core::Int128>(std::get<core::Decimal>(line[*a.price]).units());
        units += quantity;
        auto& e = items[item];
        e.units += quantity;
        e.amount += amount;
        if (products_of_order.insert(item).second) ++e.records;
        auto& c = by_category[category_of.at(item)];
        c.units += quantity;
        c.amount += amount;
      }
      for (auto* w : {&hourly[core::hour_start(r.time(d))], &daily[core::day_start(r.time(d))]}) {
        ++w->records;
        w->amount += total;
        w->units += units;
      }
    }
  }
  const auto late_expected =
      static_cast<std::int64_t>(good_orders(d, 13, 100, uploads[3].base_time, 3600).size());

  pqxx::connection c(p.env.pg);
  pqxx::work tx(c);
  tx.exec("SET search_path TO " + tx.quote_name(p.schema) + "; SET TIME ZONE 'UTC'");
  const auto windows = [&](const std::string& view,
                           const std::map<core::TimestampUs, Expected>& want) {
    std::map<core::TimestampUs, Expected> got;
    for (const auto& row : tx.exec("SELECT (extract(epoch FROM window_start) * 1000000)::bigint, "
                                   "orders, revenue::text, units FROM " +
                                   view)) {
      got[row[0].as<std::int64_t>()] = {row[1].as<std::int64_t>(), micros(row[2].as<std::string>()),
                                        row[3].as<std::int64_t>()};
    }
    INFO(view);
    REQUIRE(got.size() == want.size());
    for (const auto& [w, e] : want) {
      INFO(core::format_timestamp(w));
      CHECK(got[w].records == e.records);
      CHECK(got[w].amount == e.amount);
      CHECK(got[w].units == e.units);
    }
  };
  windows("web_orders_hourly", hourly);
  windows("web_orders_daily", daily);

  // Top products: most units, ties by the lower id, named from the catalog.
  std::vector<std::pair<std::int64_t, std::int64_t>> ranked;  // (-units, item)
  for (const auto& [item, e] : items) ranked.emplace_back(-e.units, item);
  std::sort(ranked.begin(), ranked.end());
  const auto top = tx.exec(
      "SELECT rank, product_id, units, revenue::text, orders, name FROM web_orders_top_products "
      "ORDER BY rank");
  REQUIRE(top.size() == 10);
  for (std::size_t i = 0; i < 10; ++i) {
    const auto item = ranked[i].second;
    INFO("rank " << i + 1);
    CHECK(top[i][0].as<int>() == static_cast<int>(i + 1));
    CHECK(top[i][1].as<std::int64_t>() == item);
    CHECK(top[i][2].as<std::int64_t>() == items[item].units);
    CHECK(micros(top[i][3].as<std::string>()) == items[item].amount);
    CHECK(top[i][4].as<std::int64_t>() == items[item].records);
    CHECK_FALSE(top[i][5].is_null());
  }
  // Categories through the catalog.
  std::size_t categories_seen = 0;
  for (const auto& row :
       tx.exec("SELECT category, units, revenue::text FROM web_orders_categories")) {
    const auto& e = by_category.at(row[0].as<std::string>());
    INFO(row[0].as<std::string>());
    CHECK(row[1].as<std::int64_t>() == e.units);
    CHECK(micros(row[2].as<std::string>()) == e.amount);
    ++categories_seen;
  }
  CHECK(categories_seen == by_category.size());
  CHECK(tx.exec1("SELECT count(*) FROM late_records WHERE kind = 'order'")[0].as<std::int64_t>() ==
        late_expected);
  tx.commit();

  const auto acc = accounting(p, group);
  CHECK(acc.consumed == sent);
  CHECK(acc.persisted == folded);
  CHECK(acc.duplicate == resent);
  CHECK(acc.late == late_expected);
  CHECK(acc.unaccounted == 0);
}

// `count` orders of `seed` as sent, from `base_time` over an hour; every
// other one's identity is made text that is no uuid ("tx-" before it), so
// that both forms of key are held: a uuid as itself, other text hashed.
std::vector<std::string> mixed_identity_orders(const kinds::Declaration& d, std::uint64_t seed,
                                               std::int64_t count, std::string_view base_time) {
  auto generator = order_generator(d, seed, 0, base_time, 3600);
  std::vector<std::string> out;
  for (std::int64_t i = 0; i < count; ++i) {
    auto payload = generator.next().payload;
    if (i % 2 == 0) {
      const auto r = std::get<kinds::Record>(kinds::parse_record(d, payload));
      const std::string field = "\"PaymentTransactionId\":\"";
      const auto at = payload.find(field + r.identity(d) + "\"");
      REQUIRE(at != std::string::npos);
      payload.insert(at + field.size(), "tx-");
    }
    out.push_back(std::move(payload));
  }
  return out;
}

// Migration 0022 moved a declared kind's folded identities from
// aggregator_seen_records (text) to aggregator_seen_ids (128-bit keys): an
// order an aggregator folded before the upgrade is still a resend after it.
// The schema is set back to how 0015 left it, holding the identities of
// one upload as an aggregator before 0022 would have; then migrated, and
// that upload and another are folded.
TEST_CASE("orders folded before migration 0022 are still resends after it", "[orders-upgrade]") {
  Pipeline p("it_orders_upgrade");
  const auto d = kinds::find_kind("order", "");
  const auto migrate = [&] {
    std::string out;
    const int rc = run_shell("MILLRACE_PG='" + p.env.pg + "' MILLRACE_PG_SCHEMA='" + p.schema +
                                 "' " + bin("millrace") + " migrate",
                             &out);
    INFO("millrace migrate: " << out);
    return rc;
  };
  REQUIRE(migrate() == 0);
  const std::string base = "2026-11-20T12:00:00Z";
  const auto before = mixed_identity_orders(d, 21, 400, base);
  const auto after = mixed_identity_orders(d, 22, 300, base);
  std::set<std::string> held;
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("SET LOCAL search_path TO " + tx.quote_name(p.schema));
    tx.exec(
        "CREATE TABLE aggregator_seen_records (kind text NOT NULL, identity text NOT NULL, "
        "event_ts timestamptz NOT NULL, PRIMARY KEY (kind, identity))");
    for (const auto& payload : before) {
      const auto r = std::get<kinds::Record>(kinds::parse_record(d, payload));
      held.insert(r.identity(d));
      tx.exec_params(
          "INSERT INTO aggregator_seen_records VALUES ('order', $1, $2::timestamptz) "
          "ON CONFLICT DO NOTHING",
          r.identity(d), core::format_timestamp(r.time(d)));
    }
    tx.exec("DELETE FROM schema_migrations WHERE version = 22");
    tx.commit();
  }
  REQUIRE(migrate() == 0);
  std::set<std::string> fresh;
  for (const auto& payload : after) {
    const auto r = std::get<kinds::Record>(kinds::parse_record(d, payload));
    if (!held.contains(r.identity(d))) fresh.insert(r.identity(d));
  }
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("SET LOCAL search_path TO " + tx.quote_name(p.schema));
    CHECK(tx.exec1("SELECT to_regclass('aggregator_seen_records') IS NULL")[0].as<bool>());
    CHECK(tx.exec1("SELECT count(*) FROM aggregator_seen_ids JOIN aggregator_topics "
                   "USING (topic_id) WHERE topic = 'kind:order'")[0]
              .as<std::size_t>() == held.size());
  }

  const std::string path = p.log_dir + "/" + p.topic + ".ndjson";
  {
    std::ofstream out(path);
    for (const auto* upload : {&before, &after}) {
      for (const auto& payload : *upload) out << payload << "\n";
    }
  }
  std::string summary;
  REQUIRE(produce_orders(p, {"--file", path}, &summary) == 0);
  const auto sent = static_cast<std::int64_t>(before.size() + after.size());
  const std::string group = aggregate_topic(p);

  const auto acc = accounting(p, group);
  CHECK(acc.consumed == sent);
  CHECK(acc.persisted == static_cast<std::int64_t>(fresh.size()));
  CHECK(acc.duplicate == sent - static_cast<std::int64_t>(fresh.size()));
  CHECK(acc.rejected == 0);
  CHECK(acc.unaccounted == 0);
}
