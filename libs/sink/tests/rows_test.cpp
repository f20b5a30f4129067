// The store event's rows as the sink writes them: built from its
// declaration by the code every kind's rows are (kind_rows.hpp), into the
// same columns and bytes as `millrace generate --format copy` writes the
// benchmark's reference file (pg::append_store_event), so store_events
// reads as it always has.
#include <catch2/catch.hpp>
#include <string>

#include "kind_rows.hpp"
#include "millrace/core/generator.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/pg/kind_tables.hpp"
#include "millrace/pg/store_events.hpp"

using namespace millrace;

TEST_CASE("store event rows: its declaration's columns, the bytes pg::append_store_event writes",
          "[rows]") {
  const auto declaration = kinds::find_kind(kinds::kStoreEvent, "");
  CHECK(pg::record_columns(declaration) == pg::kStoreEventColumns);

  metrics::Registry registry("test");
  sink::detail::KindRows<core::StoreEvent> rows(declaration, sink::detail::Identities::kTableKey,
                                                kinds::PiiMode::kKeep, "", "store-events", registry,
                                                nullptr);
  core::EventGenerator generator(
      {.seed = 7, .base_ts = 1'700'000'000'000'000, .time_spread_us = 86'400'000'000});
  int compared = 0, without_contact = 0;
  while (compared < 2000) {
    auto m = generator.next();
    if (!m.event) continue;
    without_contact += m.event->contact_me ? 0 : 1;
    const sink::detail::KeptRow<core::StoreEvent> row{{3, compared, 0, {}, {}, {}}, *m.event};
    pg::CopyText ours, reference;
    rows.append_record(ours, row);
    pg::append_store_event(reference, *m.event, "store-events", 3, compared);
    INFO("event " << compared);
    REQUIRE(ours.end_row().data() == reference.end_row().data());
    ++compared;
  }
  CHECK(without_contact > 0);  // the optional field's NULL is compared too
}
