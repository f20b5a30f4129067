// The store event's rows as the sink writes them: built from its
// declaration by the one row writer every kind's rows go through
// (pg::RecordText, which `millrace generate --format copy` writes the
// benchmark's reference file with), so the compiled event and the same
// event read as a record of its declared kind make the same bytes.
#include <catch2/catch.hpp>
#include <string>
#include <variant>

#include "kind_rows.hpp"
#include "millrace/core/generator.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/pg/kind_tables.hpp"

using namespace millrace;

TEST_CASE("store event rows: the compiled event's bytes are its declared record's", "[rows]") {
  const auto declaration = kinds::find_kind(kinds::kStoreEvent, "");
  metrics::Registry registry("test");
  sink::detail::KindRows<core::StoreEvent> compiled(
      declaration, sink::detail::Identities::kTableKey, kinds::PiiMode::kKeep, "", "store-events",
      registry, nullptr);
  sink::detail::KindRows<kinds::Record> declared(declaration, sink::detail::Identities::kTableKey,
                                                 kinds::PiiMode::kKeep, "", "store-events",
                                                 registry, nullptr);
  core::EventGenerator generator({.seed = 7,
                                  .base_ts = 1'700'000'000'000'000,
                                  .time_spread_us = 86'400'000'000,
                                  .embed_event_type = true});
  int compared = 0, without_contact = 0;
  while (compared < 2000) {
    auto m = generator.next();
    if (!m.event) continue;
    without_contact += m.event->contact_me ? 0 : 1;
    auto parsed = kinds::parse_record(declaration, m.payload);
    REQUIRE(std::holds_alternative<kinds::Record>(parsed));
    const sink::detail::KeptRow<core::StoreEvent> event{{3, compared, 0, {}, {}, {}}, *m.event};
    const sink::detail::KeptRow<kinds::Record> record{{3, compared, 0, {}, {}, {}},
                                                      std::get<kinds::Record>(std::move(parsed))};
    pg::CopyText ours, reference;
    compiled.append_record(ours, event);
    declared.append_record(reference, record);
    INFO("event " << compared);
    REQUIRE(ours.end_row().data() == reference.end_row().data());
    ++compared;
  }
  CHECK(without_contact > 0);  // the optional field's NULL is compared too
}
