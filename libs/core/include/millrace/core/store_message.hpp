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
#include <string_view>

#include "millrace/core/message_header.hpp"

namespace millrace::core {

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

}  // namespace millrace::core
