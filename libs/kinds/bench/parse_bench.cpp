// The parse of one message, without Kafka or PostgreSQL, in process CPU
// time per record (CLOCK_PROCESS_CPUTIME_ID: on a shared machine wall time
// is noise), the lowest of the rounds: store events (as the sink gets them:
// event_type in a header) with the compiled contract (tests/reference:
// core::parse_event, and parse_event_into reusing one event) and with the
// kinds codecs on the store event's declaration; orders, with lines, with the kinds codecs. Each
// codec fills a new record, and one record reused from message to message
// ("reused", as parse_event_into reuses its event). And what the HTTP ingest
// does with a store event before producing it, with each. The parsers take
// turns within each round.
//
//   build/bin/millrace-bench-kinds-parse [records] [rounds] [only]
//
// `only` keeps, beside core::parse_event (the reference), the parsers whose
// name holds it ("kinds sax"): for a profile of one.

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "millrace/core/partitioner.hpp"
#include "millrace/core/store_message.hpp"
#include "millrace/kinds/codec.hpp"
#include "millrace/kinds/generator.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/kinds/store_event.hpp"
#include "millrace/reference/validation.hpp"

namespace {

using namespace millrace;

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// A message and its event_type header.
struct Message {
  std::string payload;
  std::optional<std::string> header;
};

// One way of parsing a set of messages: returns whether it accepted one.
struct Parser {
  std::string name;
  const std::vector<Message>* messages;
  std::function<bool(const Message&)> parse;
  double lowest = std::numeric_limits<double>::max();
};

// Each parser's CPU time per message, the lowest of `rounds`. The parsers
// take turns within a round, so that a spell of load on the machine falls
// on all of them. Every message must be accepted (else the figure would be
// a rejection's).
void measure(std::vector<Parser>& parsers, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    for (auto& p : parsers) {
      std::size_t accepted = 0;
      const double start = cpu_seconds();
      for (const auto& m : *p.messages) accepted += p.parse(m) ? 1 : 0;
      const double ns = (cpu_seconds() - start) * 1e9 / static_cast<double>(p.messages->size());
      if (accepted != p.messages->size()) {
        std::fprintf(stderr, "%s: %zu of %zu messages refused\n", p.name.c_str(),
                     p.messages->size() - accepted, p.messages->size());
        std::exit(1);
      }
      p.lowest = std::min(p.lowest, ns);
    }
  }
}

constexpr core::TimestampUs kBase = 1'700'000'000'000'000;

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100'000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 15;
  const std::string_view only = argc > 3 ? argv[3] : "";

  std::vector<Message> events;
  const auto store_event = kinds::find_kind(kinds::kStoreEvent, "");
  kinds::RecordGenerator events_from(
      store_event, {.seed = 42, .base_ts = kBase, .time_spread_us = 3'600'000'000});
  while (events.size() < n) {
    auto m = events_from.next();
    // Sent with its event_type in the header too, as producers send it.
    auto header = core::routing_hint(m.payload).raw_event_type;
    events.push_back({std::move(m.payload), std::move(header)});
  }
  std::vector<Message> orders;
  const auto order = kinds::find_kind("order", "");
  kinds::RecordGenerator orders_from(order, {.seed = 42, .base_ts = kBase});
  while (orders.size() < n) {
    auto g = orders_from.next();
    if (!g.expected) orders.push_back({std::move(g.payload), std::nullopt});
  }

  const auto accepted = [](const auto& result) { return result.index() == 0; };
  core::StoreEvent reused;
  std::vector<Parser> parsers = {
      {"store_event core::parse_event", &events,
       [&](const Message& m) { return accepted(core::parse_event(m.payload, m.header)); }},
      {"store_event core::parse_event_into", &events,
       [&](const Message& m) { return !core::parse_event_into(m.payload, m.header, reused); }},
  };
  // Each codec into a new record, and into one reused (DeclaredCodec's
  // parse_into, as the ingest reads).
  kinds::Record record;
  const auto add = [&](const std::string& kind, const kinds::Declaration& d,
                       const std::vector<Message>& messages) {
    for (const auto& codec : kinds::codecs()) {
      parsers.push_back({kind + " kinds " + std::string(codec.name), &messages,
                         [&, parse = codec.parse](const Message& m) {
                           kinds::Record fresh;
                           return !parse(d, m.payload, m.header, kinds::TypeFrom::kHeader, fresh);
                         }});
      parsers.push_back({kind + " kinds " + std::string(codec.name) + " reused", &messages,
                         [&, parse = codec.parse](const Message& m) {
                           return !parse(d, m.payload, m.header, kinds::TypeFrom::kHeader, record);
                         }});
    }
  };
  add("store_event", store_event, events);
  add("order", order, orders);
  // What the HTTP ingest does with a store event before producing it
  // (libs/ingest/src/ingest.cpp): its type read from the body first (no
  // X-Event-Type), its id, and its partition, key and headers from its
  // fields. Before issue 79's switch, with the compiled contract; after,
  // with the declaration's codec. Each returns whether it accepted.
  constexpr std::int32_t kPartitions = 8;
  std::int64_t sink = 0;  // what the compiler must not drop
  const auto route = [&](core::EventType type, std::int32_t store_id, bool priority,
                         const std::string& id) {
    const core::StoreKey key(store_id);
    const core::EventHeaders headers(core::to_string(type), priority);
    sink += core::partition_for(type, store_id, kPartitions) + key.view().size() +
            headers.view().size() + id.size();
    return true;
  };
  parsers.push_back({"ingest core::parse_event_into", &events, [&](const Message& m) {
                       if (core::parse_event_into(m.payload, std::nullopt, reused)) return false;
                       return route(reused.event_type, reused.store_id, reused.priority_shipping,
                                    reused.id);
                     }});
  const kinds::DeclaredCodec body_first(store_event, kinds::TypeFrom::kBody);
  const auto& fields = kinds::StoreEventFields::built_in();
  parsers.push_back({"ingest kinds DeclaredCodec", &events, [&](const Message& m) {
                       if (body_first.parse_into(m.payload, std::nullopt, record)) return false;
                       return route(fields.event_type(record), fields.store_id(record),
                                    fields.priority_shipping(record), fields.id(record));
                     }});
  if (!only.empty()) {
    const std::string reference = parsers[0].name;
    std::erase_if(parsers, [&](const Parser& p) {
      return p.name != reference && p.name.find(only) == std::string::npos;
    });
  }
  measure(parsers, rounds);
  std::printf("records %zu, rounds %d, CPU ns per record (lowest)\n", n, rounds);
  for (const auto& p : parsers) {
    std::printf("%s %.1f", p.name.c_str(), p.lowest);
    if (p.messages == &events) std::printf(" (%.2f of parse_event)", p.lowest / parsers[0].lowest);
    std::printf("\n");
  }
  return sink == 42 ? 1 : 0;
}
