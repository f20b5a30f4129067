#pragma once

// What the record tests share: orders, store events and a small declaration
// of every type as JSON members to change one at a time, and the checks of
// parse_record's verdict.

#include <catch2/catch.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "millrace/core/decimal.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/record.hpp"
#include "shipped.hpp"

namespace Catch {
template <>
struct StringMaker<millrace::kinds::Value> {
  static std::string convert(const millrace::kinds::Value& v) {
    std::string out;
    millrace::kinds::append_json(out, v);
    return out;
  }
};
}  // namespace Catch

// A namespace of their own: declaration_fixtures.hpp's testing::dec is
// another function of the same signature in the same test binary.
namespace millrace::kinds::testing::records {

// A JSON object as (member, raw JSON value) pairs, in order; a member may
// appear twice.
using Members = std::vector<std::pair<std::string, std::string>>;

inline std::string object(const Members& members) {
  std::string out = "{";
  for (const auto& [name, raw] : members) {
    if (out.size() > 1) out += ", ";
    out += "\"" + name + "\": " + raw;
  }
  return out + "}";
}

inline std::string array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const auto& item : items) {
    if (out.size() > 1) out += ", ";
    out += item;
  }
  return out + "]";
}

// `members` with `name` set to `raw`: replaced where it is, else added.
inline Members set(Members members, std::string_view name, std::string raw) {
  for (auto& [n, r] : members) {
    if (n == name) {
      r = std::move(raw);
      return members;
    }
  }
  members.emplace_back(std::string(name), std::move(raw));
  return members;
}

inline Members drop(Members members, std::string_view name) {
  std::erase_if(members, [&](const auto& m) { return m.first == name; });
  return members;
}

// An order line as seed 003's generator writes them.
inline Members line(std::string product, std::string quantity, std::string price) {
  return {{"Email", R"("ana.okafor42@example.com")"},
          {"ProductId", std::move(product)},
          {"Quantity", std::move(quantity)},
          {"UnitPrice", std::move(price)}};
}
inline Members line_a() {
  return line("100150", "2", "12.99");
}
inline Members line_b() {
  return line("145000", "1", "15.99");
}

// A seed 003 order: every field, two lines, 2 x 12.99 + 15.99 = 41.97.
inline Members order_members() {
  return {
      {"PaymentTransactionId", R"("5c4bb9a6-3cbf-4a1b-8f6e-3a9f4a1d2c11")"},
      {"OrderDate", R"("2019-10-29T14:24:49.0796527+02:00")"},
      {"Total", "41.97"},
      {"Region", R"("West Europe")"},
      {"FirstName", R"("Ana")"},
      {"LastName", R"("Okafor")"},
      {"Address", R"("12 Quay Street")"},
      {"City", R"("Dublin")"},
      {"State", R"("D")"},
      {"PostalCode", R"("D02 X285")"},
      {"Country", R"("IE")"},
      {"Phone", R"("+353 1 555 0100")"},
      {"SMSOptIn", "true"},
      {"SMSStatus", R"("sent")"},
      {"Email", R"("ana.okafor42@example.com")"},
      {"ReceiptUrl", R"("https://example.com/receipts/5c4bb9a6")"},
      {"HasBeenShipped", "false"},
      {"Details", array({object(line_a()), object(line_b())})},
  };
}

inline std::string order_with(std::string_view name, std::string raw) {
  return object(set(order_members(), name, std::move(raw)));
}
inline std::string order_without(std::string_view name) {
  return object(drop(order_members(), name));
}
inline std::string order_with_lines(const std::vector<Members>& lines) {
  std::vector<std::string> items;
  for (const auto& l : lines) items.push_back(object(l));
  return order_with("Details", array(items));
}

// A kind with a field of every type, and optional lines.
inline const Declaration& sample() {
  static const Declaration d = parse_declaration(R"({
    "kind": "sample",
    "topic": {"name": "samples", "env": "MILLRACE_SAMPLES_TOPIC", "partitions": 1},
    "table": "samples",
    "identity": "Id",
    "time": "At",
    "fields": [
      {"name": "Id", "column": "id", "type": "uuid", "required": true},
      {"name": "At", "column": "at", "type": "timestamp", "required": true},
      {"name": "Name", "column": "name", "type": "text"},
      {"name": "Code", "column": "code", "type": "text", "max_bytes": 4, "values": ["ab", "cd"]},
      {"name": "Addr", "column": "addr", "type": "ip"},
      {"name": "Note", "column": "note", "type": "free_text"},
      {"name": "N", "column": "n", "type": "integer",
       "min": -9223372036854775808, "max": 9223372036854775807},
      {"name": "Amount", "column": "amount", "type": "decimal", "min": -1000, "max": 1000},
      {"name": "Flag", "column": "flag", "type": "boolean"}
    ],
    "lines": {"name": "Items", "table": "sample_items", "number_column": "item_no",
              "min_items": 0, "max_items": 2,
              "fields": [{"name": "Label", "column": "label", "type": "text", "required": true,
                          "min_bytes": 1}]}
  })",
                                                 "test sample");
  return d;
}

inline constexpr std::string_view kId = "743da362-69df-4e63-a95f-a1d93e29825e";

inline Members sample_members() {
  return {{"Id", "\"" + std::string(kId) + "\""}, {"At", R"("2024-06-01T12:00:00Z")"}};
}

// The README's store event, with its type in the body.
inline Members store_event_members() {
  return {{"id", R"("743da362-69df-4e63-a95f-a1d93e29825e")"},
          {"request_id", R"("743da362-69df-4e63-a95f-a1d93e29825e")"},
          {"store_id", "5"},
          {"store_fqdn", R"("localhost")"},
          {"store_ip", R"("127.0.0.1")"},
          {"cust_id", "549"},
          {"category", R"("Notebooks")"},
          {"sku", "169008"},
          {"price", "45.85"},
          {"qty", "34"},
          {"discount", "10.3"},
          {"gift_wrap", "true"},
          {"variant", R"("red")"},
          {"priority_shipping", "false"},
          {"ts", R"("2023-05-19T14:36:09.985501")"},
          {"contact_me", R"("github.com/miztiik")"},
          {"is_return", "true"},
          {"event_type", R"("sale_event")"}};
}

inline Record accept(const Declaration& d, std::string_view payload) {
  INFO("payload: " << payload);
  auto result = parse_record(d, payload, millrace::kinds::testing::type_header_of(d, payload));
  if (const auto* r = std::get_if<core::Rejection>(&result)) {
    FAIL("rejected: " << core::reason_code(r->reason) << " [" << r->field << "] " << r->detail);
  }
  return std::get<Record>(std::move(result));
}

inline core::Rejection reject(const Declaration& d, std::string_view payload) {
  INFO("payload: " << payload);
  auto result = parse_record(d, payload, millrace::kinds::testing::type_header_of(d, payload));
  REQUIRE(std::holds_alternative<core::Rejection>(result));
  return std::get<core::Rejection>(std::move(result));
}

// Checks the rejection's reason and field, and that its detail names the
// field.
inline void check_rejected(const Declaration& d, std::string_view payload,
                           core::RejectReason reason, std::string_view field) {
  const auto r = reject(d, payload);
  INFO("payload: " << payload);
  INFO("detail: " << r.detail);
  CHECK(core::reason_code(r.reason) == core::reason_code(reason));
  CHECK(r.field == field);
  CHECK_FALSE(r.detail.empty());
  if (!field.empty()) CHECK(r.detail.rfind(std::string(field), 0) == 0);
}

inline std::size_t index(const Declaration& d, std::string_view name) {
  const auto i = d.find(name);
  INFO("field: " << name);
  REQUIRE(i.has_value());
  return *i;
}

inline const Value& value(const Declaration& d, const Record& r, std::string_view name) {
  return r.values[index(d, name)];
}

inline core::Decimal dec(std::string_view literal) {
  const auto d = core::Decimal::parse(literal);
  INFO("literal: " << literal);
  REQUIRE(d.has_value());
  return *d;
}

inline Timestamp ts(std::string_view text) {
  const auto t = core::parse_timestamp(text);
  INFO("timestamp: " << text);
  REQUIRE(t.has_value());
  return Timestamp{*t};
}

}  // namespace millrace::kinds::testing::records
