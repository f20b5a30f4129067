// Orders (seed 003's data generator), a declared kind, end to end: the CLI
// produces them, millrace-sink --kind order stores them in orders and
// order_lines exactly once, through a SIGKILL and resends, and
// dead-letters the malformed ones with their reasons; the HTTP ingest
// takes them, and a stored order reaches a webhook. The oracle is the
// generator with the same seed, and the personal data's hashes are
// computed here with OpenSSL, not through the sink's code. The aggregator's
// views of them: orders_views_test.cpp.

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
#include "orders_support.hpp"
#include "pipeline.hpp"
#include "receiver.hpp"
#include "webhooks.hpp"

using namespace millrace;
using namespace millrace::testing;
using namespace millrace::testing::orders;
using std::chrono::seconds;

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
  auto generator = order_generator(d, kSeed, 0.05, kBaseTime, 7200);
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

TEST_CASE("POST /v1/orders: valid orders land once each, malformed ones are refused per record",
          "[orders-http]") {
  Pipeline p("it_orders_http");
  const auto d = kinds::find_kind("order", "");
  ProducerService svc(p, {{"MILLRACE_ORDERS_TOPIC", p.topic}});
  auto client = svc.client();

  auto generator = order_generator(d, 31, 0, "2026-11-25T08:00:00Z");
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
