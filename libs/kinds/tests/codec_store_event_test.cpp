// The store event's codecs against core::parse_event, the compiled contract's
// validator: the same records accepted and the same ones refused, its type in its header or body.
#include <catch2/catch.hpp>
#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "codec_fixtures.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/core/store_message.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/generator.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/store_event.hpp"
#include "millrace/reference/validation.hpp"
#include "shipped.hpp"

using namespace millrace;
using namespace millrace::kinds;
using namespace millrace::kinds::testing;
using core::Rejection;

namespace {

// `payload` without its "event_type" member (the generator writes it as
// ,"event_type":"..."), as a producer that sends the type only in the
// header does.
std::string without_event_type(std::string payload) {
  const std::string key = ",\"event_type\":\"";
  const auto at = payload.find(key);
  if (at == std::string::npos) return payload;
  const auto end = payload.find('"', at + key.size());
  if (end == std::string::npos) return payload;
  payload.erase(at, end + 1 - at);
  return payload;
}

}  // namespace

// The store event's declared contract against the compiled one, the
// event_type header included.
TEST_CASE("the store event's sax codec accepts and refuses what core::parse_event does") {
  const Declaration& d = testing::store_event();
  std::size_t inputs = 0, accepted = 0;
  std::vector<std::string> disagreements;
  const auto compare = [&](const std::string& payload, std::optional<std::string> header) {
    const auto core_result = core::parse_event(payload, header);
    const auto sax = parse_record_sax(d, payload, header);
    ++inputs;
    const auto* core_rejection = std::get_if<Rejection>(&core_result);
    const auto* sax_rejection = std::get_if<Rejection>(&sax);
    if (core_rejection == nullptr) ++accepted;
    const bool agree =
        (core_rejection == nullptr) == (sax_rejection == nullptr) &&
        (core_rejection == nullptr || (core_rejection->reason == sax_rejection->reason &&
                                       core_rejection->field == sax_rejection->field));
    if (!agree && disagreements.size() < 10) {
      disagreements.push_back(payload + "\n  core: " +
                              (core_rejection
                                   ? std::string(core::reason_code(core_rejection->reason)) + " [" +
                                         core_rejection->field + "] " + core_rejection->detail
                                   : "accepted") +
                              "\n  sax: " + describe(sax));
    }
  };
  std::mt19937_64 rng(7);
  for (const bool embed : {false, true}) {
    RecordGenerator generator(d, {.seed = 11, .bad_ratio = 0.3, .base_ts = 1'700'000'000'000'000});
    for (int i = 0; i < 2000; ++i) {
      auto g = generator.next();
      // The header as a producer sends it: the body's event_type (core's
      // lenient routing read); without `embed`, the body leaves it out.
      const auto header = core::routing_hint(g.payload).raw_event_type;
      if (!embed) g.payload = without_event_type(g.payload);
      compare(g.payload, header);
      for (const std::optional<std::string>& other :
           {std::optional<std::string>(), std::optional<std::string>("inventory_event"),
            std::optional<std::string>("refund_event")}) {
        compare(g.payload, other);
      }
      for (int m = 0; m < 4; ++m) compare(mutate(g.payload, rng), header);
      if (i < 6 && !g.expected) {
        const auto parsed = parse_record_dom(d, g.payload, header);
        const auto& record = std::get<Record>(parsed);
        for (const auto& f : d.fields) {
          for (const auto& raw : odd_values()) {
            const Change c{f.name, raw, false};
            compare(to_json(d, record, &c), header);
          }
          const Change twice{f.name, {}, true};
          compare(to_json(d, record, &twice), header);
        }
      }
    }
  }
  INFO(inputs << " inputs, " << accepted << " accepted by core");
  for (const auto& s : disagreements) UNSCOPED_INFO(s);
  CHECK(disagreements.empty());
  CHECK(inputs > 5000);
}

// The type read from the body (TypeFrom::kBody, as the HTTP ingest and the
// producers read a store event) against core::parse_event_into, whose
// body's event_type wins over the fallback header: every codec, into one
// record reused, accepts and refuses alike, and a record accepted routes
// as the compiled event does.
TEST_CASE("a type read from the body: every codec reads the store event as parse_event_into") {
  const Declaration& d = testing::store_event();
  const StoreEventFields& fields = StoreEventFields::built_in();
  std::size_t inputs = 0, accepted = 0;
  std::vector<std::string> disagreements;
  std::vector<Record> reused(codecs().size());
  core::StoreEvent event;
  const auto compare = [&](const std::string& payload, std::optional<std::string> fallback) {
    const auto core_rejection = core::parse_event_into(payload, fallback, event);
    ++inputs;
    if (!core_rejection) ++accepted;
    for (std::size_t c = 0; c < reused.size(); ++c) {
      const auto rejection = codecs()[c].parse(d, payload, fallback, TypeFrom::kBody, reused[c]);
      bool agree = core_rejection.has_value() == rejection.has_value();
      if (agree && core_rejection) {
        agree = core_rejection->reason == rejection->reason &&
                core_rejection->field == rejection->field;
      } else if (agree) {
        const Record& r = reused[c];
        agree = fields.event_type(r) == event.event_type && fields.id(r) == event.id &&
                fields.store_id(r) == event.store_id &&
                fields.priority_shipping(r) == event.priority_shipping &&
                fields.price(r) == event.price && fields.qty(r) == event.qty &&
                fields.discount(r) == event.discount && fields.is_return(r) == event.is_return;
      }
      if (!agree && disagreements.size() < 10) {
        disagreements.push_back(
            std::string(codecs()[c].name) + " " + payload + " (fallback " +
            fallback.value_or("none") + ")\n  core: " +
            (core_rejection ? std::string(core::reason_code(core_rejection->reason)) + " [" +
                                  core_rejection->field + "] " + core_rejection->detail
                            : "accepted") +
            "\n  codec: " +
            (rejection ? std::string(core::reason_code(rejection->reason)) + " [" +
                             rejection->field + "] " + rejection->detail
                       : "accepted"));
      }
    }
  };
  std::mt19937_64 rng(17);
  for (const bool embed : {false, true}) {
    RecordGenerator generator(d, {.seed = 13, .bad_ratio = 0.3, .base_ts = 1'700'000'000'000'000});
    for (int i = 0; i < 1500; ++i) {
      auto g = generator.next();
      if (!embed) g.payload = without_event_type(g.payload);
      for (const std::optional<std::string>& fallback :
           {std::optional<std::string>(), std::optional<std::string>("sale_event"),
            std::optional<std::string>("inventory_event"),
            std::optional<std::string>("refund_event")}) {
        compare(g.payload, fallback);
      }
      for (int m = 0; m < 4; ++m) compare(mutate(g.payload, rng), "inventory_event");
      if (i < 6 && !g.expected) {
        const auto parsed = parse_record_dom(d, g.payload, "sale_event", TypeFrom::kBody);
        const auto& record = std::get<Record>(parsed);
        for (const auto& f : d.fields) {
          for (const auto& raw : odd_values()) {
            const Change c{f.name, raw, false};
            compare(to_json(d, record, &c), std::nullopt);
            compare(to_json(d, record, &c), "sale_event");
          }
          const Change twice{f.name, {}, true};
          compare(to_json(d, record, &twice), std::nullopt);
          compare(to_json(d, record, &twice), "inventory_event");
        }
      }
    }
  }
  INFO(inputs << " inputs, " << accepted << " accepted by core");
  for (const auto& s : disagreements) UNSCOPED_INFO(s);
  CHECK(disagreements.empty());
  CHECK(inputs > 5000);
  CHECK(accepted > 1000);
}
