#include "millrace/produce/produce.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>

#include "millrace/core/failure.hpp"
#include "millrace/kinds/record.hpp"

namespace {
using millrace::core::Decimal;
using millrace::produce::sale_value_micros;
}  // namespace

TEST_CASE("sale value is price x qty x (1 - discount/100), exact to the micro-unit") {
  // 45.85 x 34 x 0.897 = 1398.3333 (exact: 1398.33330)
  CHECK(sale_value_micros(*Decimal::parse("45.85"), 34, *Decimal::parse("10.3"), false) ==
        1'398'333'300);
  CHECK(sale_value_micros(*Decimal::parse("45.85"), 34, *Decimal::parse("10.3"), true) ==
        -1'398'333'300);
  CHECK(sale_value_micros(*Decimal::parse("10"), 3, *Decimal::parse("100"), false) == 0);
  CHECK(sale_value_micros(*Decimal::parse("0.01"), 1, *Decimal::parse("0"), false) == 10'000);
  // 0.000001 x 1 x 0.5 = 0.0000005 rounds half away from zero to 0.000001.
  CHECK(sale_value_micros(Decimal::from_units(1), 1, Decimal::from_integer(50), false) == 1);
}

TEST_CASE("produce configuration needs exactly one source") {
  millrace::produce::ProduceConfig c;
  CHECK_THROWS_AS(millrace::produce::validate(c), millrace::core::UsageError);
  c.count = 10;
  CHECK_NOTHROW(millrace::produce::validate(c));
  c.file = "-";
  CHECK_THROWS_AS(millrace::produce::validate(c), millrace::core::UsageError);
  c.count = 0;
  CHECK_NOTHROW(millrace::produce::validate(c));
  c.bad_ratio = 0.1;
  CHECK_THROWS_AS(millrace::produce::validate(c), millrace::core::UsageError);
}

TEST_CASE("the summary is JSON with the seed's fields") {
  millrace::produce::ProduceSummary s;
  s.total = 10;
  s.bad = 3;
  s.sale_events = 4;
  s.inventory_events = 3;
  s.sales_value_micros = 482'034'999;
  s.delivered = 10;
  CHECK(s.to_json() ==
        R"({"total":10,"bad":3,"sale_events":4,"inventory_events":3,"total_sales_value":482.03,)"
        R"("delivered":10,"failed_deliveries":0,"duration_seconds":0.000,"seed":0})");
}

TEST_CASE("generate writes any kind from its declaration and the same records for a seed") {
  using millrace::produce::GenerateConfig;
  const auto run = [](GenerateConfig c, std::uint64_t* rows = nullptr) {
    millrace::produce::validate(c);
    std::ostringstream out;
    const auto lines = millrace::produce::run_generate(
        c, out, [](const millrace::kinds::Record& r, std::int64_t index) {
          static std::string row;
          row = std::to_string(index) + " " + std::to_string(r.values.size()) + "\n";
          return std::string_view(row);
        });
    if (rows != nullptr) *rows = lines;
    // Times end at the clock's now: all else is the seed's.
    static const std::regex kTime(R"re("(ts|[A-Za-z]*Date[A-Za-z]*)":"[^"]*")re");
    return std::regex_replace(out.str(), kTime, "$1");
  };
  GenerateConfig c;
  c.count = 200;
  c.bad_ratio = 0.1;
  const auto events = run(c);
  CHECK(events == run(c));                                       // the same seed, the same bytes
  CHECK(events.find("\"event_type\":\"") != std::string::npos);  // the body names its type
  CHECK(events.find("\"store_fqdn\":\"store-0") != std::string::npos);
  c.seed = 43;
  CHECK(events != run(c));

  c.kind = "order";
  c.bad_ratio = 0;
  CHECK(run(c).find("\"PaymentTransactionId\":") != std::string::npos);
  c.format = "copy";
  std::uint64_t rows = 0;
  const auto copy = run(c, &rows);
  CHECK(rows == 200);  // every record valid, each one row
  CHECK(copy.substr(0, 2) == "0 ");

  c.kind = "no_such_kind";
  CHECK_THROWS_AS(run(c), millrace::core::UsageError);
}
