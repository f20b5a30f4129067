#include "millrace/pg/copy.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <variant>

#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/pg/copy_binary.hpp"
#include "millrace/pg/kind_tables.hpp"
#include "millrace/pg/record_text.hpp"

using millrace::pg::CopyText;

TEST_CASE("COPY text separates fields with tabs and ends rows with newlines") {
  CopyText t;
  t.text("a").integer(-42).boolean(true).boolean(false).null().end_row();
  t.integer(9'223'372'036'854'775'807).end_row();
  CHECK(t.data() == "a\t-42\tt\tf\t\\N\n9223372036854775807\n");
  t.clear();
  CHECK(t.data().empty());
  t.text("x").end_row();
  CHECK(t.data() == "x\n");  // clear() also forgets the open row's fields
}

TEST_CASE("COPY text escapes backslash, tab, newline and carriage return, and nothing else") {
  CopyText t;
  t.text("back\\slash\ttab\nnew\rcr").text("").text("\\N").text("Caf\xc3\xa9 \"q\" ,{}").end_row();
  CHECK(t.data() == "back\\\\slash\\ttab\\nnew\\rcr\t\t\\\\N\tCaf\xc3\xa9 \"q\" ,{}\n");
}

TEST_CASE("binary COPY rows: a field count, then each field's length and big-endian bytes") {
  millrace::pg::CopyBinary b;
  b.begin_row().int4(7).uuid("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d").int4(-2).int8(256).end_row();
  const std::string expected =
      std::string("\x00\x04", 2) + std::string("\x00\x00\x00\x04", 4) +
      std::string("\x00\x00\x00\x07", 4) + std::string("\x00\x00\x00\x10", 4) +
      "\x0a\x1b\x2c\x3d\x4e\x5f\x4a\x6b\x8c\x7d\x9e\x0f\x1a\x2b\x3c\x4d" +
      std::string("\x00\x00\x00\x04", 4) + "\xff\xff\xff\xfe" + std::string("\x00\x00\x00\x08", 4) +
      std::string("\x00\x00\x00\x00\x00\x00\x01\x00", 8);
  CHECK(b.data() == expected);
}

TEST_CASE("binary COPY reads a uuid's text in either case, with or without its dashes") {
  millrace::pg::CopyBinary lower, upper, bare;
  lower.begin_row().uuid("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d").end_row();
  upper.begin_row().uuid("0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D").end_row();
  bare.begin_row().uuid("0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d").end_row();
  CHECK(lower.data() == upper.data());
  CHECK(lower.data() == bare.data());
  millrace::pg::CopyBinary bad;
  bad.begin_row();
  CHECK_THROWS_AS(bad.uuid("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4"), std::invalid_argument);
  CHECK_THROWS_AS(bad.uuid("0a1b2c3d_4e5f-4a6b-8c7d-9e0f1a2b3c4d"), std::invalid_argument);
  CHECK_THROWS_AS(bad.uuid("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4g"), std::invalid_argument);
  CHECK_THROWS_AS(bad.uuid(""), std::invalid_argument);
}

TEST_CASE("a store_events row has one field per column, in the declaration's order") {
  const auto d = millrace::kinds::find_kind(millrace::kinds::kStoreEvent, "");
  const auto parsed = millrace::kinds::parse_record(
      d,
      R"({"id": "7E3C4A0E-8F1B-4C2D-9A6E-1B2C3D4E5F60", "request_id": )"
      R"("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "store_id": 12, "store_fqdn": "store-12.example", )"
      R"("store_ip": "10.0.0.12", "cust_id": 77, "category": "Tabs\tand\\slashes", )"
      R"("sku": 1234567, "price": 1.5, "qty": 2, "discount": 0, "gift_wrap": true, )"
      R"("variant": "red", "priority_shipping": false, "ts": "1970-01-01T00:00:00Z", )"
      R"("is_return": true})",
      "sale_event");
  REQUIRE(std::holds_alternative<millrace::kinds::Record>(parsed));
  const auto& e = std::get<millrace::kinds::Record>(parsed).values;
  CopyText t;
  millrace::pg::RecordText().record(t, d, e, "store-events", 3, 99);
  t.end_row();
  const std::string& row = t.data();
  CHECK(static_cast<std::size_t>(std::count(row.begin(), row.end(), '\t')) + 1 ==
        millrace::pg::record_columns(d).size());
  CHECK_THAT(row, Catch::StartsWith("7e3c4a0e-8f1b-4c2d-9a6e-1b2c3d4e5f60\t0a1b2c3d-4e5f-4a6b-8c7d-"
                                    "9e0f1a2b3c4d\t12\tstore-12.example\t10.0.0.12\t77\t"
                                    "Tabs\\tand\\\\slashes\t1234567\t"));
  // contact_me absent, then is_return and the event type.
  CHECK_THAT(row, Catch::EndsWith("\t\\N\tt\tsale_event\tstore-events\t3\t99\n"));
}
