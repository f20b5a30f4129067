#pragma once

// Change records as millrace-changefeed writes them (proto/change.schema.json),
// for the tests.

#include <cstdint>
#include <string>

namespace millrace::cache::testing {

inline std::string id_of(std::uint64_t lsn, std::uint32_t seq = 0) {
  char buf[25];
  std::snprintf(buf, sizeof buf, "%016llX%08X", static_cast<unsigned long long>(lsn), seq);
  return buf;
}

inline std::string category_row(const std::string& name, const std::string& display) {
  return R"({"name":")" + name + R"(","display_name":")" + display +
         R"(","description":null,"active":true,"updated_at":"2026-11-23 18:00:00+00"})";
}

inline std::string product_row(std::int64_t sku, const std::string& name) {
  return R"({"sku":)" + std::to_string(sku) + R"(,"name":")" + name +
         R"(","brand":null,"category":"toys","list_price":9.50,"active":true,)"
         R"("updated_at":"2026-11-23 18:00:00+00"})";
}

// An assets row (migration 0020) as Finnhub's crypto listings give it: no
// type, no currency.
inline std::string asset_row(const std::string& symbol, const std::string& description) {
  return R"({"symbol":")" + symbol + R"(","description":")" + description +
         R"(","type":null,"currency":null,"display_symbol":null,)"
         R"("updated_at":"2026-11-23 18:00:00+00"})";
}

inline std::string change(const std::string& table, char op, std::uint64_t lsn, std::uint32_t xid,
                          const std::string& key, const std::string& before,
                          const std::string& after, const std::string& schema = "s") {
  return R"({"id":")" + id_of(lsn) + R"(","op":")" + std::string(1, op) + R"(","table":")" +
         schema + "." + table + R"(","key":)" + key + R"(,"before":)" + before + R"(,"after":)" +
         after + R"(,"source":{"lsn":"0/1","xid":)" + std::to_string(xid) +
         R"(,"commit_time":"2026-11-23T18:00:00.000000Z","seq":0}})";
}

inline std::string category_upsert(const std::string& name, const std::string& display,
                                   std::uint64_t lsn, std::uint32_t xid) {
  return change("categories", 'u', lsn, xid, R"({"name":")" + name + R"("})", "null",
                category_row(name, display));
}

inline std::string category_delete(const std::string& name, std::uint64_t lsn, std::uint32_t xid) {
  return change("categories", 'd', lsn, xid, R"({"name":")" + name + R"("})",
                R"({"name":")" + name + R"("})", "null");
}

}  // namespace millrace::cache::testing
