#include "orders_support.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <pqxx/pqxx>
#include <thread>

#include "harness.hpp"
#include "millrace/core/timestamp.hpp"

namespace millrace::testing::orders {

using std::chrono::seconds;

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

bool wait_stored(Pipeline& p, seconds timeout, const std::string& group) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (p.stored_total(group) == p.records_in_topic()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

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

Accounting accounting(const Pipeline& p, const std::string& group) {
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

kinds::RecordGenerator order_generator(const kinds::Declaration& d, std::uint64_t seed,
                                       double bad_ratio, std::string_view base_time,
                                       std::int64_t spread_s) {
  const auto base = core::parse_timestamp(base_time);
  REQUIRE(base);
  kinds::RecordGeneratorOptions g;
  g.seed = seed;
  g.bad_ratio = bad_ratio;
  g.base_ts = *base;
  g.time_spread_us = spread_s * 1'000'000;
  return kinds::RecordGenerator(d, g);
}

}  // namespace millrace::testing::orders
