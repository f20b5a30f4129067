// The store event's rows as the sink writes them: built from its
// declaration by the one row writer every kind's rows go through
// (pg::RecordText, which `millrace generate --format copy` writes the
// benchmark's reference file with), so the compiled event and the same
// event read as a record of its declared kind make the same bytes.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "kind_rows.hpp"
#include "millrace/core/validation.hpp"
#include "millrace/kinds/generator.hpp"
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
  kinds::RecordGenerator generator(
      declaration, {.seed = 7, .base_ts = 1'700'000'000'000'000, .time_spread_us = 86'400'000'000});
  int compared = 0, without_contact = 0;
  while (compared < 2000) {
    const auto payload = generator.next().payload;
    core::StoreEvent compiled_event;
    REQUIRE_FALSE(core::parse_event_into(payload, std::nullopt, compiled_event));
    without_contact += compiled_event.contact_me ? 0 : 1;
    // Its type travels in the header too (the declaration's type_header).
    auto parsed = kinds::parse_record(declaration, payload,
                                      std::string(core::to_string(compiled_event.event_type)));
    REQUIRE(std::holds_alternative<kinds::Record>(parsed));
    const sink::detail::KeptRow<core::StoreEvent> event{{3, compared, 0, {}, {}, {}},
                                                        std::move(compiled_event)};
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
