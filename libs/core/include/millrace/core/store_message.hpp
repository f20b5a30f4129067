#pragma once

// How every Millrace producer addresses a store event on Kafka
// (proto/README.md): the event_type and priority_shipping headers, and the
// store_id in decimal as the key; the partition comes from partition_for
// (partitioner.hpp). `millrace produce` and millrace-producer both build
// their messages from these, so they cannot drift apart.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "millrace/core/event_type.hpp"
#include "millrace/core/message_header.hpp"

namespace millrace::core {

// What a producer needs to route a raw NDJSON line without validating it:
// the event type (from an "event_type" field) and the store_id, each when
// present and well typed. Never throws; garbage yields two nullopts.
struct RoutingHint {
  std::optional<EventType> event_type;
  std::optional<std::string> raw_event_type;  // the field's text, even if unknown
  std::optional<std::int32_t> store_id;
};
RoutingHint routing_hint(std::string_view payload);

// The headers of one store-event message; no allocation. The views it holds
// must outlive it (event types are usually kSaleEvent and friends).
class EventHeaders {
 public:
  // `event_type` nullopt leaves the header out (a deliberately bad message).
  EventHeaders(std::optional<std::string_view> event_type, bool priority_shipping);
  std::span<const MessageHeader> view() const { return {headers_.data(), size_}; }

 private:
  std::array<MessageHeader, 2> headers_;
  std::size_t size_ = 0;
};

// The message key of a store's events: store_id in decimal, without
// allocating.
class StoreKey {
 public:
  explicit StoreKey(std::int32_t store_id);
  std::string_view view() const { return {text_.data(), size_}; }

 private:
  std::array<char, 12> text_{};  // "-2147483648" is 11 characters
  std::size_t size_ = 0;
};

// Where a store event given as JSON that names its own event_type (an
// NDJSON line of `millrace produce --file`, a generated record) goes: a
// valid one with its type and priority_shipping as headers, keyed and
// partitioned by its store; an invalid one where its intended type and
// store would go, as far as a lenient read finds them (else by its bytes),
// with the event_type text it has as the header. The validation
// downstream, not the partition, is what catches it.
struct StoreRoute {
  bool valid = false;
  std::int32_t partition = 0;
  std::optional<std::int32_t> store_id;  // the key's; none: no key
  bool priority_shipping = false;
  std::optional<std::string> raw_event_type;  // an invalid one's event_type text
  EventType event_type = EventType::kSale;    // a valid one's

  // The event_type header's value; nullopt: no header.
  std::optional<std::string_view> header() const;
};
// A valid one's route, from its fields.
StoreRoute route_store_event(EventType type, std::int32_t store_id, bool priority_shipping,
                             std::int32_t partitions);
// An invalid one's route, from what routing_hint's lenient read finds.
StoreRoute route_invalid_store_json(std::string_view json, std::int32_t partitions);
}  // namespace millrace::core
