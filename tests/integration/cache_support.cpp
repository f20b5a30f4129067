#include "cache_support.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <pqxx/pqxx>
#include <set>
#include <vector>

#include "generated_catalog.hpp"
#include "millrace/catalog/json.hpp"

namespace millrace::testing::cache_tests {

using namespace std::chrono_literals;

namespace {

catalog::RowText row_text(const pqxx::row& r) {
  catalog::RowText text;
  for (const auto& f : r) {
    text.emplace(f.name(), f.is_null() ? std::nullopt : std::optional<std::string>(f.c_str()));
  }
  return text;
}

}  // namespace

CacheRig::CacheRig(std::int32_t partitions) : p("it_cache", partitions) {
  migrate_with_generated_catalog(p);
  // The comparisons below are only worth anything with rows to compare.
  REQUIRE(count("categories") == 20);
  REQUIRE(count("products") == 6000);
  feed.emplace(p, std::vector<std::string>{"categories", "products"}, 2);
  feed_process.emplace(feed->start("changefeed"));
  feed->wait_streaming();
  prefix = "millrace:" + p.schema;
  REQUIRE_FALSE(p.env.redis_url.empty());
}

CacheRig::~CacheRig() {
  if (feed_process) stop_cleanly({&*feed_process});
}

std::string CacheRig::scalar(const std::string& sql) const {
  return InSchema{p}.one(sql);
}

long long CacheRig::count(const std::string& table) const {
  return InSchema{p}.count("SELECT count(*) FROM " + table);
}

Child CacheRig::start_cache(const std::string& name) {
  return p.start("millrace-cache", name,
                 {{"MILLRACE_CHANGES_TOPIC", feed->topic},
                  {"MILLRACE_REDIS_URL", p.env.redis_url},
                  {"MILLRACE_CACHE_LEASE_MS", "3000"},
                  {"MILLRACE_RETRY_BACKOFF_MAX_MS", "1000"}});
}

Child CacheRig::start_api(int port, bool near) {
  return p.start("millrace-api", "api",
                 {{"MILLRACE_API_ADDR", "127.0.0.1:" + std::to_string(port)},
                  {"MILLRACE_API_PG", p.env.pg},
                  {"MILLRACE_API_ADMIN_PG", p.env.pg},
                  {"MILLRACE_API_ADMIN_TOKEN", "cache-test-token"},
                  {"MILLRACE_REDIS_URL", p.env.redis_url},
                  {"MILLRACE_API_NEAR_CACHE_ENTRIES", near ? "100000" : "0"}});
}

void CacheRig::psql(const std::string& sql) {
  std::string out;
  REQUIRE(run_shell("psql -X -q -v ON_ERROR_STOP=1 '" + p.env.pg + "' -c 'SET search_path TO " +
                        p.schema + "; " + sql + "' 2>&1",
                    &out) == 0);
}

redis::Client CacheRig::client() const {
  return redis::Client(redis::parse_url(p.env.redis_url));
}

std::optional<std::string> CacheRig::live() const {
  auto c = client();
  const auto r = c.command({"GET", prefix + ":live"});
  if (r.is_nil()) return std::nullopt;
  return r.as_string();
}

void CacheRig::exec(const std::string& sql) {
  InSchema{p}.exec(sql);
}

std::string CacheRig::differences() const {
  const auto generation = live();
  if (!generation) return "no generation is live";
  const std::string base = prefix + ":g" + *generation + ":";
  pqxx::connection conn(p.env.pg);
  pqxx::work tx(conn);
  tx.exec("SET search_path TO " + tx.quote_name(p.schema));
  std::map<std::string, std::string> expected;
  std::vector<std::string> items;
  for (const auto& r : tx.exec("SELECT * FROM categories ORDER BY name")) {
    items.push_back(catalog::category_json(row_text(r)));
    expected[base + "category:" + r["name"].c_str()] = items.back();
  }
  for (const auto& r : tx.exec("SELECT * FROM products ORDER BY sku")) {
    expected[base + "product:" + r["sku"].c_str()] = catalog::product_json(row_text(r));
  }
  expected[base + "categories"] = catalog::category_list_json(items);

  auto c = client();
  std::set<std::string> keys;
  std::string cursor = "0";
  do {
    const auto r = c.command({"SCAN", cursor, "MATCH", base + "*", "COUNT", "1000"});
    cursor = r.elements().at(0).as_string();
    for (const auto& k : r.elements().at(1).elements()) keys.insert(k.as_string());
  } while (cursor != "0");
  for (const auto& [k, v] : expected) keys.insert(k);
  std::vector<std::string> order(keys.begin(), keys.end());
  std::vector<std::vector<std::string>> commands;
  for (const auto& k : order) commands.push_back({"HMGET", k, "v", "b"});
  const auto replies = c.pipeline(commands);
  std::string out;
  int shown = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const auto& e = replies[i].elements();
    const bool absent = e.at(0).is_nil();
    const std::optional<std::string> body =
        e.at(1).is_nil() ? std::nullopt : std::optional<std::string>(e[1].as_string());
    const auto want = expected.find(order[i]);
    std::string why;
    if (want == expected.end()) {
      if (body) why = "holds a row the database does not: " + *body;
    } else if (absent) {
      why = "is missing";
    } else if (body != want->second) {
      why = "is " + body.value_or("a tombstone") + ", the database has " + want->second;
    }
    if (!why.empty() && shown++ < 5) out += order[i] + " " + why + "\n";
  }
  if (shown > 5) out += std::to_string(shown - 5) + " more\n";
  return out;
}

std::string CacheRig::converge() {
  std::string last;
  eventually(
      [&] {
        last = differences();
        return last.empty();
      },
      90s);
  return last;
}

}  // namespace millrace::testing::cache_tests
