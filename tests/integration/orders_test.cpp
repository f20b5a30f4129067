// Orders (seed 003's data generator), a declared kind, end to end: the CLI
// produces them, millrace-sink --kind order stores them in orders and
// order_lines exactly once, through a SIGKILL and resends, and
// dead-letters the malformed ones with their reasons. The oracle is the
// generator with the same seed, and the personal data's hashes are
// computed here with OpenSSL, not through the sink's code.
#include <openssl/evp.h>
#include <openssl/hmac.h>
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
#include "http_client.hpp"
#include "millrace/catalog/generated.hpp"
#include "millrace/core/partitioner.hpp"
#include "millrace/core/window.hpp"
#include "millrace/kafka/admin.hpp"
#include "millrace/kinds/generator.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/webhooks/signature.hpp"
#include "pipeline.hpp"
#include "receiver.hpp"
#include "webhooks.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::seconds;

namespace {

constexpr std::string_view kPiiKey = "orders-test-key-0123456789";

std::string hmac_hex(std::string_view value) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), kPiiKey.data(), static_cast<int>(kPiiKey.size()),
       reinterpret_cast<const unsigned char*>(value.data()), value.size(), digest, &n);
  std::string out;
  char buf[3];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", digest[i]);
    out += buf;
  }
  return out;
}

std::map<std::string, std::string> order_env(const Pipeline& p, std::string_view pii) {
  return {{"MILLRACE_KIND", "order"},
          {"MILLRACE_ORDERS_TOPIC", p.topic},
          {"MILLRACE_PII_KEY", std::string(kPiiKey)},
          {"MILLRACE_ORDERS_PII", std::string(pii)}};
}

int produce_orders(const Pipeline& p, const std::vector<std::string>& args, std::string* out) {
  std::vector<std::string> all = {"produce", "--kind", "order"};
  all.insert(all.end(), args.begin(), args.end());
  return run(bin("millrace"), all,
             {{"MILLRACE_BROKERS", p.env.brokers}, {"MILLRACE_ORDERS_TOPIC", p.topic}}, out);
}

// Until the stored offsets of `group` (the sink's by default) reach the
// end of the topic.
bool wait_stored(Pipeline& p, seconds timeout, const std::string& group = {}) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (p.stored_total(group) == p.records_in_topic()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

// Sends `lines` as an NDJSON file (millrace produce --kind order --file)
// and stores them with one sink run; returns produce's summary.
std::string produce_and_store(Pipeline& p, const std::vector<std::string>& lines,
                              std::string_view pii) {
  const std::string path = p.log_dir + "/" + p.topic + ".ndjson";
  {
    std::ofstream out(path);
    for (const auto& line : lines) out << line << "\n";
  }
  std::string summary;
  REQUIRE(produce_orders(p, {"--file", path}, &summary) == 0);
  INFO(summary);
  auto sink = p.start_sink("sink", order_env(p, pii));
  REQUIRE(wait_stored(p, seconds(120)));
  CHECK(stop_cleanly({&sink}));
  return summary;
}

struct Accounting {
  std::int64_t consumed = 0, persisted = 0, rejected = 0, duplicate = 0, unaccounted = 0, late = 0;
};

Accounting accounting(const Pipeline& p, const std::string& group = {}) {
  pqxx::connection c(p.env.pg);
  pqxx::work tx(c);
  const auto r = tx.exec_params1(
      "SELECT sum(consumed), sum(persisted), sum(rejected), sum(duplicate), "
      "sum(abs(unaccounted)), sum(late) "
      "FROM " +
          tx.quote_name(p.schema) + ".partition_accounting WHERE group_id = $1",
      group.empty() ? p.group : group);
  return {r[0].as<std::int64_t>(0), r[1].as<std::int64_t>(0), r[2].as<std::int64_t>(0),
          r[3].as<std::int64_t>(0), r[4].as<std::int64_t>(0), r[5].as<std::int64_t>(0)};
}

std::string field_of(const std::vector<kinds::Value>& values, std::size_t i) {
  std::string out;
  kinds::append_json(out, values[i]);
  return out;
}

}  // namespace

TEST_CASE("orders from the CLI land once each, despite a SIGKILLed sink and resends", "[orders]") {
  Pipeline p("it_orders");
  const auto d = kinds::find_kind("order", "");
  constexpr std::int64_t kCount = 3000;
  constexpr std::uint64_t kSeed = 20261125;
  // A fixed base time: both uploads, and the oracle, make the very same
  // orders, byte for byte.
  constexpr std::string_view kBaseTime = "2026-11-25T08:00:00Z";
  const std::vector<std::string> args = {"--count",       std::to_string(kCount),
                                         "--seed",        std::to_string(kSeed),
                                         "--bad-ratio",   "0.05",
                                         "--rate",        "1500",
                                         "--time-spread", "7200",
                                         "--base-time",   std::string(kBaseTime)};
  auto first = p.start_sink("sink-a", order_env(p, "hash"));
  std::string summary;
  REQUIRE(produce_orders(p, args, &summary) == 0);
  INFO(summary);
  CHECK_THAT(summary, Catch::Contains("\"kind\":\"order\""));
  // Killed once it has committed some, and most likely with a batch in flight.
  const auto until = std::chrono::steady_clock::now() + seconds(60);
  while (p.stored_total() == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(p.stored_total() > 0);
  first.signal(SIGKILL);
  first.wait(seconds(10));
  // Every order again, as a client retrying the whole upload would.
  auto second = p.start_sink("sink-b", order_env(p, "hash"));
  REQUIRE(produce_orders(p, args, &summary) == 0);
  REQUIRE(wait_stored(p, seconds(240)));
  CHECK(stop_cleanly({&second}));

  // The oracle: the same seed gives the same orders.
  kinds::RecordGeneratorOptions g;
  g.seed = kSeed;
  g.bad_ratio = 0.05;
  g.base_ts = *core::parse_timestamp(kBaseTime);
  g.time_spread_us = 7200LL * 1'000'000;
  kinds::RecordGenerator generator(d, g);
  std::map<std::string, std::vector<kinds::Value>> good;
  std::map<std::string, std::vector<std::vector<kinds::Value>>> good_lines;
  std::vector<kinds::GeneratedRecord> bad;
  for (std::int64_t i = 0; i < kCount; ++i) {
    auto r = generator.next();
    if (r.expected) {
      bad.push_back(std::move(r));
      continue;
    }
    auto parsed = std::get<kinds::Record>(kinds::parse_record(d, r.payload));
    good_lines[r.key] = parsed.lines;
    good[r.key] = std::move(parsed.values);
  }
  REQUIRE(bad.size() > 50);

  pqxx::connection c(p.env.pg);
  pqxx::work tx(c);
  const std::string s = tx.quote_name(p.schema) + ".";
  // Orders: each good one once, with its exact total and hashed personal data.
  std::set<std::string> stored;
  const auto total_at = *d.find("Total");
  const auto email_at = *d.find("Email");
  const auto first_name_at = *d.find("FirstName");
  for (const auto& row : tx.exec(
           "SELECT payment_transaction_id, total::text, email, first_name FROM " + s + "orders")) {
    const auto id = row[0].as<std::string>();
    INFO(id);
    REQUIRE(stored.insert(id).second);
    REQUIRE(good.count(id) == 1);
    const auto& v = good[id];
    CHECK(core::Decimal::parse(row[1].as<std::string>()) == std::get<core::Decimal>(v[total_at]));
    CHECK(row[2].as<std::string>() == hmac_hex(std::get<std::string>(v[email_at])));
    CHECK(row[3].as<std::string>() == hmac_hex(std::get<std::string>(v[first_name_at])));
  }
  CHECK(stored.size() == good.size());
  // Lines: numbered from 1, each as sent.
  std::map<std::string, std::map<int, std::tuple<std::string, std::string, std::string>>> lines;
  for (const auto& row : tx.exec("SELECT payment_transaction_id, line_no, product_id::text, "
                                 "quantity::text, unit_price::text FROM " +
                                 s + "order_lines")) {
    lines[row[0].as<std::string>()][row[1].as<int>()] = {
        row[2].as<std::string>(), row[3].as<std::string>(), row[4].as<std::string>()};
  }
  std::size_t expected_lines = 0;
  for (const auto& [id, want] : good_lines) {
    INFO(id);
    expected_lines += want.size();
    REQUIRE(lines[id].size() == want.size());
    for (std::size_t n = 0; n < want.size(); ++n) {
      const auto& [product, quantity, price] = lines[id][static_cast<int>(n + 1)];
      CHECK(product == field_of(want[n], 1));
      CHECK(quantity == field_of(want[n], 2));
      CHECK(core::Decimal::parse(price) == std::get<core::Decimal>(want[n][3]));
    }
  }
  CHECK(tx.exec1("SELECT count(*) FROM " + s + "order_lines")[0].as<std::size_t>() ==
        expected_lines);
  tx.commit();

  // Every record accounted for: the second copy of each good order is a
  // duplicate, and both copies of a bad one are dead letters.
  const auto a = accounting(p);
  CHECK(a.consumed == 2 * kCount);
  CHECK(a.persisted == static_cast<std::int64_t>(good.size()));
  CHECK(a.duplicate == static_cast<std::int64_t>(good.size()));
  CHECK(a.rejected == static_cast<std::int64_t>(2 * bad.size()));
  CHECK(a.unaccounted == 0);

  // Each dead letter says why, as the generator meant it.
  std::map<std::string, std::pair<std::string, std::string>> why;  // payload -> reason, field
  for (const auto& b : bad) {
    why[b.payload] = {std::string(core::reason_code(*b.expected)), b.bad_field};
  }
  for (const auto& letter : p.read_topic(p.dlq_topic, static_cast<std::int64_t>(2 * bad.size()))) {
    INFO(letter.value);
    REQUIRE(why.count(letter.value) == 1);
    CHECK(letter.headers.at("millrace.reason") == why[letter.value].first);
    if (!why[letter.value].second.empty()) {
      CHECK(letter.headers.at("millrace.field") == why[letter.value].second);
    }
  }
}

TEST_CASE("malformed orders are dead-lettered with their reasons, and the rest of the batch lands",
          "[orders-malformed]") {
  Pipeline p("it_orders_bad");
  const std::string good1 =
      R"({"PaymentTransactionId":"tx-good-1","OrderDate":"2019-10-29T14:24:49.0796527Z",)"
      R"("Total":41.97,"Email":"ana@example.com","FirstName":"Ana","SMSOptIn":true,)"
      R"("Details":[{"Email":"ana@example.com","ProductId":100000,"Quantity":3,"UnitPrice":13.99}]})";
  const std::string good2 =
      R"({"PaymentTransactionId":"tx-good-2","OrderDate":"2019-10-29T16:00:00+02:00",)"
      R"("Total":5,"Details":[{"Email":"bo@example.com","ProductId":145000,"Quantity":1,)"
      R"("UnitPrice":2.5},{"Email":"bo@example.com","ProductId":145150,"Quantity":1,"UnitPrice":2.5}]})";
  const std::string line = R"({"Email":"x@example.com","ProductId":1,"Quantity":1,"UnitPrice":1})";
  // Each malformed order, with the reason and field its dead letter must name.
  const std::vector<std::tuple<std::string, std::string, std::string>> malformed = {
      {R"({"OrderDate":"2019-10-29T14:24:49Z","Total":1,"Details":[)" + line + "]}",
       "missing_field", "PaymentTransactionId"},
      {R"({"PaymentTransactionId":"tx-b2","Total":1,"Details":[)" + line + "]}", "missing_field",
       "OrderDate"},
      {R"({"PaymentTransactionId":"tx-b3","OrderDate":"2019-10-29T14:24:49Z","Details":[)" + line +
           "]}",
       "missing_field", "Total"},
      {R"({"PaymentTransactionId":"tx-b4","OrderDate":"2019-10-29T14:24:49Z","Total":1,)"
       R"("Details":{}})",
       "wrong_type", "Details"},
      {R"({"PaymentTransactionId":"tx-b5","OrderDate":"2019-10-29T14:24:49Z","Total":1,)"
       R"("Details":[)" +
           line + R"(,{"Email":"x@example.com","Quantity":1,"UnitPrice":1}]})",
       "missing_field", "Details[2].ProductId"},
      {R"({"PaymentTransactionId":"tx-b6","OrderDate":"2019-10-29T14:24:49Z","Total":1,)"
       R"("Details":[{"Email":"x@example.com","ProductId":1,"Quantity":-2,"UnitPrice":1}]})",
       "out_of_range", "Details[1].Quantity"},
      {R"({"PaymentTransactionId":"tx-b7","OrderDate":"2019-10-29T14:24:49Z","Total":"12.50",)"
       R"("Details":[)" +
           line + "]}",
       "wrong_type", "Total"},
      {R"({"PaymentTransactionId":"tx-b8","OrderDate":"yesterday","Total":1,"Details":[)" + line +
           "]}",
       "invalid_format", "OrderDate"},
      {R"({"PaymentTransactionId":"tx-b9",)", "invalid_json", ""},
  };
  std::vector<std::string> lines = {good1};
  for (const auto& m : malformed) lines.push_back(std::get<0>(m));
  lines.push_back(good2);
  const auto summary = produce_and_store(p, lines, "keep");
  INFO(summary);
  CHECK_THAT(summary, Catch::Contains("\"bad\":" + std::to_string(malformed.size())));

  pqxx::connection c(p.env.pg);
  pqxx::work tx(c);
  const std::string s = tx.quote_name(p.schema) + ".";
  std::map<std::string, std::string> orders;
  for (const auto& row : tx.exec("SELECT payment_transaction_id, total::text || ' ' || "
                                 "order_date::text || ' ' || coalesce(email, '-') FROM " +
                                 s + "orders")) {
    orders[row[0].as<std::string>()] = row[1].as<std::string>();
  }
  tx.exec("SET TIME ZONE 'UTC'");
  CHECK(orders.size() == 2);
  CHECK_THAT(orders["tx-good-1"], Catch::StartsWith("41.97 "));
  CHECK_THAT(orders["tx-good-1"], Catch::EndsWith(" ana@example.com"));  // keep: as sent
  CHECK(tx.exec1("SELECT count(*) FROM " + s + "order_lines")[0].as<int>() == 3);
  CHECK(tx.exec1("SELECT order_date = '2019-10-29T14:00:00Z' FROM " + s +
                 "orders WHERE payment_transaction_id = 'tx-good-2'")[0]
            .as<bool>());
  tx.commit();

  std::map<std::string, std::pair<std::string, std::string>> why;
  for (const auto& [payload, reason, field] : malformed) why[payload] = {reason, field};
  const auto letters = p.read_topic(p.dlq_topic, static_cast<std::int64_t>(malformed.size()));
  for (const auto& letter : letters) {
    INFO(letter.value);
    REQUIRE(why.count(letter.value) == 1);
    CHECK(letter.headers.at("millrace.reason") == why[letter.value].first);
    CHECK(letter.headers.at("millrace.field") == why[letter.value].second);
    why.erase(letter.value);
  }
  CHECK(why.empty());
  const auto a = accounting(p);
  CHECK(a.persisted == 2);
  CHECK(a.rejected == static_cast<std::int64_t>(malformed.size()));
  CHECK(a.unaccounted == 0);
}

TEST_CASE("orders with empty optional strings, and without lines, are stored as sent",
          "[orders-empty]") {
  // Seed 003's schema sets no minLength and does not require Details; an
  // upload whose every order had "SMSStatus": "" was once dead-lettered
  // whole. The empty strings must land as '' (not NULL), and nothing be
  // refused, whether personal data is kept or hashed (the default): no
  // bytes hold nothing to hide.
  const std::string pii = GENERATE("keep", "hash");
  INFO("MILLRACE_ORDERS_PII=" << pii);
  Pipeline p("it_orders_empty_" + pii);
  const auto d = kinds::find_kind("order", "");
  std::vector<std::string> empty_texts;  // every optional text field
  std::string all_empty;
  for (const auto& f : d.fields) {
    if (f.type != kinds::ValueType::kText || f.required) continue;
    empty_texts.push_back(f.name);
    all_empty += ",\"" + f.name + "\":\"\"";
  }
  REQUIRE(empty_texts.size() == 12);
  const auto order = [&](const std::string& id, const std::string& rest) {
    return R"({"PaymentTransactionId":")" + id +
           R"(","OrderDate":"2019-10-29T14:24:49.0796527Z","Total":41.97)" + rest + "}";
  };
  const std::string lines =
      R"(,"Details":[{"Email":"","ProductId":100000,"Quantity":3,"UnitPrice":13.99},)"
      R"({"Email":"ana@example.com","ProductId":145000,"Quantity":1,"UnitPrice":0}])";
  // id -> (payload, lines it must have)
  const std::map<std::string, std::pair<std::string, int>> sent = {
      {"tx-empty-lines", {order("tx-empty-lines", all_empty + R"(,"SMSOptIn":false)" + lines), 2}},
      {"tx-empty-absent", {order("tx-empty-absent", all_empty), 0}},
      {"tx-empty-null", {order("tx-empty-null", all_empty + R"(,"Details":null)"), 0}},
      {"tx-empty-none", {order("tx-empty-none", all_empty + R"(,"Details":[])"), 0}},
      // The issue's order: a full one but for SMSStatus.
      {"tx-sms-status",
       {order("tx-sms-status",
              R"(,"Region":"West US","FirstName":"Ana","SMSOptIn":true,"SMSStatus":"")" + lines),
        2}},
  };
  std::vector<std::string> payloads;
  for (const auto& [id, what] : sent) payloads.push_back(what.first);
  const auto summary = produce_and_store(p, payloads, pii);
  INFO(summary);
  CHECK_THAT(summary, Catch::Contains("\"bad\":0"));

  pqxx::connection c(p.env.pg);
  pqxx::work tx(c);
  const std::string s = tx.quote_name(p.schema) + ".";
  CHECK(tx.exec1("SELECT count(*) FROM " + s + "orders")[0].as<std::size_t>() == sent.size());
  for (const auto& [id, what] : sent) {
    INFO(id);
    for (const auto& name : empty_texts) {
      const auto& column = d.fields[*d.find(name)].column;
      INFO(column);
      const auto row = tx.exec_params1(
          "SELECT " + column + " FROM " + s + "orders WHERE payment_transaction_id = $1", id);
      const bool sent_empty = id != "tx-sms-status" || name == "SMSStatus";
      if (sent_empty) {
        REQUIRE_FALSE(row[0].is_null());
        CHECK(row[0].as<std::string>().empty());
      } else if (name == "Region") {
        CHECK(row[0].as<std::string>() == "West US");
      } else if (name != "FirstName") {
        CHECK(row[0].is_null());  // absent stays NULL
      }
    }
    CHECK(tx.exec_params1(
                "SELECT total::text FROM " + s + "orders WHERE payment_transaction_id = $1", id)[0]
              .as<std::string>() == "41.97");
    CHECK(
        tx.exec_params1(
              "SELECT count(*) FROM " + s + "order_lines WHERE payment_transaction_id = $1", id)[0]
            .as<int>() == what.second);
  }
  // A line's required Email, sent empty, is '' too.
  const auto first_line = tx.exec_params1("SELECT email FROM " + s +
                                              "order_lines WHERE payment_transaction_id = $1 "
                                              "AND line_no = 1",
                                          "tx-empty-lines");
  REQUIRE_FALSE(first_line[0].is_null());
  CHECK(first_line[0].as<std::string>().empty());
  tx.commit();

  // Nothing refused, nothing dead-lettered.
  const auto a = accounting(p);
  CHECK(a.consumed == static_cast<std::int64_t>(sent.size()));
  CHECK(a.persisted == static_cast<std::int64_t>(sent.size()));
  CHECK(a.rejected == 0);
  CHECK(a.unaccounted == 0);
  // The dead-letter topic's end offsets: read_topic(dlq, 0) would stop at once.
  kafka::OffsetsClient offsets(p.env.brokers, {});
  std::int64_t letters = 0;
  for (std::int32_t part = 0; part < p.partitions; ++part) {
    letters += offsets.watermarks(p.dlq_topic, part, seconds(10)).second;
  }
  CHECK(letters == 0);
}

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
  kinds::RecordGeneratorOptions g;
  g.seed = seed;
  g.bad_ratio = 0.02;
  g.base_ts = *core::parse_timestamp(base_time);
  g.time_spread_us = spread_s * 1'000'000;
  kinds::RecordGenerator generator(d, g);
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
  const auto shell = [&](const std::string& args) {
    std::string out;
    const int rc = run_shell("MILLRACE_PG='" + p.env.pg + "' MILLRACE_PG_SCHEMA='" + p.schema +
                                 "' " + bin("millrace") + " " + args,
                             &out);
    INFO("millrace " << args << ": " << out);
    return rc;
  };
  REQUIRE(shell("migrate") == 0);
  const std::string categories = p.log_dir + "/" + p.schema + ".categories.csv";
  const std::string products = p.log_dir + "/" + p.schema + ".products.ndjson";
  REQUIRE(shell("generate --catalog categories --format csv > " + categories) == 0);
  REQUIRE(shell("generate --catalog products > " + products) == 0);
  REQUIRE(shell("catalog load " + categories) == 0);
  REQUIRE(shell("catalog load " + products) == 0);

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

TEST_CASE("POST /v1/orders: valid orders land once each, malformed ones are refused per record",
          "[orders-http]") {
  Pipeline p("it_orders_http");
  const auto d = kinds::find_kind("order", "");
  ProducerService svc(p, {{"MILLRACE_ORDERS_TOPIC", p.topic}});
  auto client = svc.client();

  kinds::RecordGeneratorOptions g;
  g.seed = 31;
  g.base_ts = *core::parse_timestamp("2026-11-25T08:00:00Z");
  kinds::RecordGenerator generator(d, g);
  std::vector<kinds::GeneratedRecord> orders;
  for (int i = 0; i < 200; ++i) orders.push_back(generator.next());
  std::string body;
  for (const auto& o : orders) body += o.payload + "\n";
  // One malformed order in the middle: its place answers for it alone.
  const std::string malformed =
      R"({"PaymentTransactionId":"tx-bad","OrderDate":"2026-11-25T08:00:00Z","Total":"9.99",)"
      R"("Details":[{"Email":"a@example.com","ProductId":1,"Quantity":1,"UnitPrice":9.99}]})";
  body += malformed + "\n";

  // Sent twice, as a client retrying after a lost answer would.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const auto reply = post(client, "/v1/orders", body, "application/x-ndjson");
    REQUIRE(reply.status == 200);
    const auto& results = reply.json["results"];
    REQUIRE(results.Size() == orders.size() + 1);
    for (std::size_t i = 0; i < orders.size(); ++i) {
      INFO(i);
      CHECK(str(results[static_cast<rapidjson::SizeType>(i)], "status") == "accepted");
      CHECK(str(results[static_cast<rapidjson::SizeType>(i)], "id") == orders[i].key);
      // Keyed by its identity, as the CLI partitions it.
      CHECK(results[static_cast<rapidjson::SizeType>(i)]["partition"].GetInt() ==
            core::partition_for_bytes(orders[i].key.data(), orders[i].key.size(), p.partitions));
    }
    const auto& bad = results[static_cast<rapidjson::SizeType>(orders.size())];
    CHECK(str(bad, "status") == "rejected");
    CHECK(str(bad, "reason") == "wrong_type");
    CHECK(str(bad, "field") == "Total");
  }
  // The store-event route still refuses an order: it is not a store event.
  CHECK(post(client, "/v1/events", orders[0].payload, "application/json").status == 400);

  auto sink = p.start_sink("sink", order_env(p, "drop"));
  REQUIRE(wait_stored(p, seconds(120)));
  CHECK(stop_cleanly({&sink}));
  pqxx::connection c(p.env.pg);
  pqxx::work tx(c);
  const std::string s = tx.quote_name(p.schema) + ".";
  CHECK(tx.exec1("SELECT count(*) FROM " + s + "orders")[0].as<std::size_t>() == orders.size());
  // drop: no personal data is stored.
  CHECK(tx.exec1("SELECT count(*) FROM " + s +
                 "orders WHERE email IS NOT NULL OR first_name IS "
                 "NOT NULL")[0]
            .as<int>() == 0);
  CHECK(
      tx.exec1("SELECT count(*) FROM " + s + "order_lines WHERE email IS NOT NULL")[0].as<int>() ==
      0);
  tx.commit();
  const auto a = accounting(p);
  CHECK(a.persisted == static_cast<std::int64_t>(orders.size()));
  CHECK(a.duplicate == static_cast<std::int64_t>(orders.size()));
  CHECK(a.unaccounted == 0);
}

TEST_CASE("an order stored by the sink reaches a webhook endpoint through the change feed",
          "[orders-webhook]") {
  Pipeline p("it_orders_hook");
  std::string out;
  REQUIRE(run(bin("millrace"), {"migrate"},
              {{"MILLRACE_PG", p.env.pg}, {"MILLRACE_PG_SCHEMA", p.schema}}, &out) == 0);
  // The orders' table published like any other: the declaration made it.
  ChangeFeedRig rig(p, {"orders"});
  auto feed = rig.start("changefeed");
  rig.wait_streaming();
  Receiver rx;
  const auto secret = webhooks::new_secret();
  rx.set_secrets("/orders", {secret});
  add_endpoint(p, rx.url("/orders"), secret);
  auto hooks = start_webhooks(p, rig, "webhooks", "1s");

  constexpr int kOrders = 20;
  REQUIRE(produce_orders(p, {"--count", std::to_string(kOrders), "--seed", "5"}, &out) == 0);
  auto sink = p.start_sink("sink", order_env(p, "keep"));
  REQUIRE(wait_stored(p, seconds(120)));

  const auto changes = rig.read_all(kOrders);
  REQUIRE(changes.size() == kOrders);
  std::set<std::string> ids;
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    for (const auto& r :
         tx.exec("SELECT payment_transaction_id FROM " + tx.quote_name(p.schema) + ".orders")) {
      ids.insert(r[0].as<std::string>());
    }
  }
  REQUIRE(ids.size() == kOrders);
  for (const auto& change : changes) {
    INFO(change.value);
    CHECK(change.table == p.schema + ".orders");
    CHECK(change.op == "c");
    // The change's key is the order's identity.
    rapidjson::Document key;
    key.Parse(change.key.c_str());
    REQUIRE(key.IsObject());
    CHECK(ids.count(key["key"]["payment_transaction_id"].GetString()) == 1);
  }
  REQUIRE(eventually([&] { return rx.accepted_ids("/orders").size() >= kOrders; }, seconds(60)));
  CHECK(check_each_once_in_key_order(rx.accepted_ids("/orders"), changes) == 0);
  for (const auto& request : rx.requests("/orders")) {
    CHECK_THAT(request.body, Catch::Contains("\"table\":\"" + p.schema + ".orders\""));
  }
  CHECK(stop_cleanly({&sink, &hooks, &feed}));
}

// `count` orders of `seed` as sent, from `base_time` over an hour; every
// other one's identity is made text that is no uuid ("tx-" before it), so
// that both forms of key are held: a uuid as itself, other text hashed.
std::vector<std::string> mixed_identity_orders(const kinds::Declaration& d, std::uint64_t seed,
                                               std::int64_t count, std::string_view base_time) {
  kinds::RecordGeneratorOptions g;
  g.seed = seed;
  g.bad_ratio = 0;
  g.base_ts = *core::parse_timestamp(base_time);
  g.time_spread_us = 3600LL * 1'000'000;
  kinds::RecordGenerator generator(d, g);
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
