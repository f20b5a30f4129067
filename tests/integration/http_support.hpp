#pragma once

// What millrace-producer's HTTP tests share: generated events as a client sends
// them, bodies of them, and the topic's records read back and checked as routed.

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "millrace/core/event_type.hpp"
#include "millrace/core/partitioner.hpp"
#include "millrace/reference/validation.hpp"
#include "pipeline.hpp"
#include "store_events.hpp"

namespace millrace::testing::http_tests {

// One generated event as a client would send it.
struct Sent {
  std::string id;
  std::string body;  // the JSON text sent for it
  core::EventType type = core::EventType::kSale;
  std::int32_t store_id = 0;
  bool priority = false;
};

// `embed`: the body names its type (else the client sends X-Event-Type).
inline std::vector<Sent> make_events(std::uint64_t seed, std::size_t n, bool embed) {
  auto gen = store_event_generator({.seed = seed, .base_ts = 1'700'000'000'000'000});
  std::vector<Sent> out;
  while (out.size() < n) {
    auto r = gen.next();
    const auto event = valid_store_event(r.payload);
    REQUIRE(event);
    out.push_back({event->id, embed ? r.payload : without_event_type(r.payload), event->event_type,
                   event->store_id, event->priority_shipping});
  }
  return out;
}

inline std::string json_array(const std::vector<Sent>& events, std::size_t from, std::size_t to) {
  std::string out = "[";
  for (std::size_t i = from; i < to; ++i) out += (i == from ? "" : ",\n ") + events[i].body;
  return out + "]";
}

// Every record of the topic, by event id.
inline std::map<std::string, TopicRecord> read_all(const Pipeline& p) {
  std::map<std::string, TopicRecord> out;
  for (auto& r : p.read_topic(p.records_in_topic())) {
    auto parsed = core::parse_event(r.value, r.event_type);
    INFO("record at " << r.partition << "/" << r.offset << ": " << r.value);
    REQUIRE(std::holds_alternative<core::StoreEvent>(parsed));
    const std::string id = std::get<core::StoreEvent>(parsed).id;
    CHECK(out.emplace(id, std::move(r)).second);  // no event twice
  }
  return out;
}

// The record of `sent` is where the CLI would have put it, carries its
// headers and key, and holds the text that was sent.
inline void check_routed(const std::map<std::string, TopicRecord>& records, const Sent& sent,
                         std::int32_t partitions, std::string_view value) {
  INFO("event " << sent.id);
  const auto it = records.find(sent.id);
  REQUIRE(it != records.end());
  const TopicRecord& r = it->second;
  CHECK(r.partition == core::partition_for(sent.type, sent.store_id, partitions));
  CHECK(r.event_type == std::string(core::to_string(sent.type)));
  CHECK(r.priority_shipping == std::string(sent.priority ? "true" : "false"));
  CHECK(r.key == std::to_string(sent.store_id));
  CHECK(r.value == value);
}

}  // namespace millrace::testing::http_tests
