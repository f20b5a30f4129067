#include "millrace/pg/copy.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

#include "millrace/core/event.hpp"
#include "millrace/kinds/registry.hpp"
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

TEST_CASE("a store_events row has one field per column, in the declaration's order") {
  millrace::core::StoreEvent e;
  e.id = "7e3c4a0e-8f1b-4c2d-9a6e-1b2c3d4e5f60";
  e.request_id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
  e.event_type = millrace::core::EventType::kSale;
  e.store_id = 12;
  e.store_fqdn = "store-12.example";
  e.store_ip = "10.0.0.12";
  e.cust_id = 77;
  e.category = "Tabs\tand\\slashes";
  e.sku = 1234567;
  e.qty = -2;
  e.gift_wrap = true;
  e.variant = "red";
  e.priority_shipping = false;
  e.ts = 0;
  e.is_return = true;
  CopyText t;
  const auto d = millrace::kinds::find_kind(millrace::kinds::kStoreEvent, "");
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
