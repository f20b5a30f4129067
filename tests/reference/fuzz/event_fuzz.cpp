// libFuzzer target: a Kafka message value or HTTP body as the store event's
// compiled contract, the tests' reference (tests/reference: parse_event,
// parse_event_into), and core's routing_hint read it, with the
// event type header absent, valid or wrong. Beyond not crashing: an event
// that parses serialises (to_json) to a body that parses again to the same
// JSON, and the two entry points agree on accepting and on the reason.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <variant>

#include "millrace/core/store_message.hpp"
#include "millrace/reference/validation.hpp"

namespace {

using millrace::core::parse_event;
using millrace::core::parse_event_into;
using millrace::core::Rejection;
using millrace::core::StoreEvent;

void check(bool condition) {
  if (!condition) std::abort();
}

void round_trip(const StoreEvent& event) {
  const std::string body = millrace::core::to_json(event, false);
  const auto again = parse_event(body, millrace::core::to_string(event.event_type));
  check(std::holds_alternative<StoreEvent>(again));
  check(millrace::core::to_json(std::get<StoreEvent>(again), true) ==
        millrace::core::to_json(event, true));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  for (const std::optional<std::string_view> header :
       {std::optional<std::string_view>{}, std::optional<std::string_view>{"sale_event"},
        std::optional<std::string_view>{"inventory_event"},
        std::optional<std::string_view>{"bogus"}}) {
    const auto parsed = parse_event(payload, header);
    if (const auto* event = std::get_if<StoreEvent>(&parsed)) round_trip(*event);
  }
  StoreEvent event;
  const auto rejection = parse_event_into(payload, std::nullopt, event);
  if (!rejection) round_trip(event);
  const auto hint = millrace::core::routing_hint(payload);
  // A body that names a known type and passes validation routes by it.
  if (!rejection && hint.event_type) check(*hint.event_type == event.event_type);
  return 0;
}
