#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/core/decimal.hpp"
#include "millrace/core/event.hpp"
#include "millrace/core/validation.hpp"

namespace millrace::core {

// The named ways a synthetic message is deliberately bad, so that every
// validation path downstream is exercised.
enum class BadKind : std::uint8_t {
  kNone,
  kInvalidJson,        // truncated JSON
  kMissingField,       // a required field removed
  kWrongType,          // a number sent as a string, or similar
  kNegativeQty,        // qty < 0
  kUnknownEventType,   // event_type "refund_event"
  kNoEventTypeHeader,  // no event_type at all
};
inline constexpr int kBadKindCount = 7;
std::string_view to_string(BadKind kind);
// The reason validation must refuse a message of this kind with; nullopt for
// kNone, which it accepts. Part of the ground truth a test checks against.
std::optional<RejectReason> expected_reason(BadKind kind);

struct GeneratorOptions {
  std::uint64_t seed = 42;
  double bad_ratio = 0.0;  // share of messages that are bad, 0..1
  // Event times are spread uniformly over [base_ts - time_spread_us, base_ts].
  TimestampUs base_ts = 0;
  std::int64_t time_spread_us = 0;
  // Body carries "event_type" (file / NDJSON form) instead of only a header.
  bool embed_event_type = false;
  std::int32_t store_count = 50;
};

// One message as it would be produced, with the ground truth a test needs.
struct GeneratedMessage {
  std::string payload;                           // the Kafka message value
  std::optional<std::string> event_type_header;  // nullopt: send no header
  bool priority_shipping = false;                // the priority_shipping header
  BadKind bad = BadKind::kNone;
  EventType intended_type = EventType::kSale;
  std::int32_t store_id = 0;        // for partitioning
  std::optional<StoreEvent> event;  // set exactly when bad == kNone
};

// What the generator draws products from, so a reference catalog can match
// its events: the categories, the skus each owns (a band of the sku space)
// and the price every event of a sku carries.
std::span<const std::string_view> generated_categories();
std::vector<std::int64_t> generated_skus(std::size_t category_index);
Decimal generated_price(std::int64_t sku);

// Deterministic for a given seed: realistic stores, categories, skus, prices,
// quantities, and discounts spread over 0..50 so that the discount filter has
// work to do. About half sale and half inventory events; ~10% returns.
class EventGenerator {
 public:
  explicit EventGenerator(GeneratorOptions options);
  GeneratedMessage next();
  // Moves the end of the time window, e.g. to "now" before each event of a
  // live stream. Draws nothing from the rng, so the same seed still yields
  // the same events apart from their ts. Throws like the constructor.
  void set_base_ts(TimestampUs base_ts);

 private:
  StoreEvent make_event();
  void fill_undrawn(StoreEvent& e);
  GeneratorOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace millrace::core
