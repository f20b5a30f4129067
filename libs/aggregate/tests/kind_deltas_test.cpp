// What a batch of trades adds to the trade kind's windows: a row per
// symbol and window, the notional (price × volume) exact in its scale, and a
// sum that outgrows 128 bits split into parts that PostgreSQL adds.

#include <catch2/catch.hpp>
#include <limits>
#include <string>
#include <variant>

#include "kind_tables.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"

using namespace millrace;
using aggregate::tables::KindDeltas;
using aggregate::tables::WideSum;
using aggregate::tables::WindowKey;

namespace {

kinds::Record trade(const kinds::Declaration& d, const std::string& json) {
  auto parsed = kinds::parse_record(d, json);
  REQUIRE(std::holds_alternative<kinds::Record>(parsed));
  return std::get<kinds::Record>(std::move(parsed));
}

std::string json(const std::string& id, const std::string& symbol, const std::string& price,
                 const std::string& volume, const std::string& time) {
  return R"({"TradeId": ")" + id + R"(", "Symbol": ")" + symbol + R"(", "Price": ")" + price +
         R"(", "Volume": ")" + volume + R"(", "TradeTime": ")" + time + R"("})";
}

core::TimestampUs at(const std::string& rfc3339) {
  return *core::parse_timestamp(rfc3339);
}

}  // namespace

TEST_CASE("trades add to their symbol's hour and day, with the notional exact",
          "[aggregate][kind_deltas]") {
  const auto d = kinds::find_kind("trade", "");
  KindDeltas deltas(d);
  deltas.fold(trade(d, json("1", "BTC", "7296.89", "0.011467", "2026-11-29T10:05:00Z")));
  deltas.fold(trade(d, json("2", "BTC", "7300.000001", "2", "2026-11-29T10:59:59.999Z")));
  deltas.fold(trade(d, json("3", "ETH", "0.5", "100", "2026-11-29T10:30:00Z")));
  deltas.fold(trade(d, json("4", "BTC", "1", "1", "2026-11-29T11:00:00Z")));

  REQUIRE(deltas.hourly().size() == 3);
  const auto& btc10 = deltas.hourly().at(WindowKey{at("2026-11-29T10:00:00Z"), {"BTC"}});
  CHECK(btc10.records == 2);
  CHECK(btc10.amount == 2'011'467);  // volume in micro-units
  REQUIRE(btc10.sums.size() == 1);
  REQUIRE(btc10.sums[0].parts.size() == 1);
  // 7296.89 × 0.011467 + 7300.000001 × 2 = 83.67343763 + 14600.000002, in 10^-12.
  CHECK(btc10.sums[0].parts[0] ==
        static_cast<core::Int128>(83'673'437'630'000) + 14'600'000'002'000'000);
  CHECK(deltas.hourly().at(WindowKey{at("2026-11-29T10:00:00Z"), {"ETH"}}).sums[0].parts[0] ==
        static_cast<core::Int128>(50'000'000'000'000));
  CHECK(deltas.hourly().at(WindowKey{at("2026-11-29T11:00:00Z"), {"BTC"}}).records == 1);

  REQUIRE(deltas.daily().size() == 2);
  CHECK(deltas.daily().at(WindowKey{at("2026-11-29T00:00:00Z"), {"BTC"}}).records == 3);
  CHECK(deltas.daily().at(WindowKey{at("2026-11-29T00:00:00Z"), {"ETH"}}).amount == 100'000'000);
}

TEST_CASE("a sum that would overflow 128 bits begins a new part", "[aggregate][kind_deltas]") {
  constexpr auto kMax = std::numeric_limits<core::Int128>::max();
  WideSum sum;
  sum.add(kMax - 5);
  sum.add(5);
  REQUIRE(sum.parts.size() == 1);
  CHECK(sum.parts[0] == kMax);
  sum.add(1);
  REQUIRE(sum.parts.size() == 2);
  CHECK(sum.parts[1] == 1);
  sum.add(-kMax);
  CHECK(sum.parts[1] == 1 - kMax);
  CHECK(sum.parts[0] == kMax);

  // The largest trades the kind takes: 10^12 × 10^12, 10^36 in units of 10^-12.
  const auto d = kinds::find_kind("trade", "");
  KindDeltas deltas(d);
  for (int i = 0; i < 400; ++i) {
    deltas.fold(trade(
        d, json(std::to_string(i), "X", "1000000000000", "1000000000000", "2026-11-29T10:00:00Z")));
  }
  const auto& parts = deltas.hourly().begin()->second.sums[0].parts;
  CHECK(parts.size() > 1);
  core::Int128 kept = 0;
  const core::Int128 one =
      static_cast<core::Int128>(1'000'000'000'000'000'000) * 1'000'000'000'000'000'000;  // 10^36
  for (const auto p : parts) {
    CHECK(p % one == 0);
    kept += p / one;
  }
  CHECK(kept == 400);
}
