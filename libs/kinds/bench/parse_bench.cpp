// The parse of one message, without Kafka or PostgreSQL, in process CPU
// time per record (CLOCK_PROCESS_CPUTIME_ID: on a shared machine wall time
// is noise), the lowest of the rounds: store events (as the sink gets them:
// event_type in a header) with the compiled contract (core::parse_event,
// and parse_event_into reusing one event) and with the kinds codecs on the
// store event's declaration; orders, with lines, with the kinds codecs.
//
//   build/bin/millrace-bench-kinds-parse [records] [rounds]

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "millrace/core/event.hpp"
#include "millrace/core/generator.hpp"
#include "millrace/core/validation.hpp"
#include "millrace/kinds/generator.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"

namespace {

using namespace millrace;

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The lowest over `rounds` of `parse`'s CPU time per message of
// `payloads`; `parse` returns whether it accepted, and every message must
// be accepted (else the figure would be a rejection's).
template <typename Parse>
double lowest_ns(const std::vector<std::string>& payloads, int rounds, Parse&& parse) {
  double lowest = std::numeric_limits<double>::max();
  for (int r = 0; r < rounds; ++r) {
    std::size_t accepted = 0;
    const double start = cpu_seconds();
    for (const auto& p : payloads) accepted += parse(p) ? 1 : 0;
    const double ns = (cpu_seconds() - start) * 1e9 / static_cast<double>(payloads.size());
    if (accepted != payloads.size()) {
      std::fprintf(stderr, "%zu of %zu messages refused\n", payloads.size() - accepted,
                   payloads.size());
      std::exit(1);
    }
    lowest = std::min(lowest, ns);
  }
  return lowest;
}

constexpr core::TimestampUs kBase = 1'700'000'000'000'000;

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100'000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 15;

  std::vector<std::string> events;
  core::EventGenerator events_from({.seed = 42, .base_ts = kBase, .time_spread_us = 3'600'000'000});
  while (events.size() < n) {
    auto m = events_from.next();
    if (m.event) events.push_back(std::move(m.payload));
  }
  const auto store_event = kinds::find_kind(kinds::kStoreEvent, "");
  std::vector<std::string> orders;
  const auto order = kinds::find_kind("order", "");
  kinds::RecordGenerator orders_from(order, {.seed = 42, .base_ts = kBase});
  while (orders.size() < n) {
    auto g = orders_from.next();
    if (!g.expected) orders.push_back(std::move(g.payload));
  }

  const auto accepted = [](const auto& result) { return result.index() == 0; };
  const double core_ns = lowest_ns(events, rounds, [&](const std::string& p) {
    return accepted(core::parse_event(p, std::string_view("sale_event")));
  });
  core::StoreEvent reused;
  const double core_into_ns = lowest_ns(events, rounds, [&](const std::string& p) {
    return !core::parse_event_into(p, std::string_view("sale_event"), reused);
  });
  std::printf("records %zu, rounds %d, CPU ns per record (lowest)\n", n, rounds);
  std::printf("store_event core::parse_event %.1f\n", core_ns);
  std::printf("store_event core::parse_event_into %.1f\n", core_into_ns);
  for (const auto& codec : kinds::codecs()) {
    const double ns = lowest_ns(events, rounds, [&](const std::string& p) {
      return accepted(codec.parse(store_event, p));
    });
    std::printf("store_event kinds %.*s %.1f (%.2f of parse_event)\n",
                static_cast<int>(codec.name.size()), codec.name.data(), ns, ns / core_ns);
  }
  for (const auto& codec : kinds::codecs()) {
    const double ns = lowest_ns(
        orders, rounds, [&](const std::string& p) { return accepted(codec.parse(order, p)); });
    std::printf("order kinds %.*s %.1f\n", static_cast<int>(codec.name.size()), codec.name.data(),
                ns);
  }
}
