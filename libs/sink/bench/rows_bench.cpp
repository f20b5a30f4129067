// The sink's COPY encoding of its rows, without PostgreSQL, in process CPU
// time per row (CLOCK_PROCESS_CPUTIME_ID: on a shared machine wall time is
// noise): store events and orders (their record rows, lines aside) from
// the generators, read through their declarations, enrichment off, the
// median of the rounds. What a sink spends
// per row before PostgreSQL sees it.
//
//   build/bin/millrace-bench-sink-rows [rows] [rounds]

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "kind_rows.hpp"
#include "millrace/kinds/codec.hpp"
#include "millrace/kinds/generator.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/pg/copy.hpp"

namespace {

using namespace millrace;
using sink::detail::KeptRow;

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The median over `rounds` of `encode`'s CPU time, per row of `rows`.
template <typename Encode>
double median_ns_per_row(std::size_t rows, int rounds, Encode&& encode) {
  std::vector<double> ns;
  for (int r = 0; r < rounds; ++r) {
    const double start = cpu_seconds();
    encode();
    ns.push_back((cpu_seconds() - start) * 1e9 / static_cast<double>(rows));
  }
  std::sort(ns.begin(), ns.end());
  return ns[ns.size() / 2];
}

// Encodes every row into one CopyText, cleared every 1000 rows as
// CopyWriter sends its chunks.
template <typename Rows, typename Append>
void encode_all(pg::CopyText& out, const Rows& rows, Append&& append) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i % 1000 == 0) out.clear();
    append(out, rows[i]);
    out.end_row();
  }
}

constexpr core::TimestampUs kBase = 1'700'000'000'000'000;

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200'000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 9;
  metrics::Registry registry("bench");

  // The store event as its declaration reads it (the sink's since issue
  // 79), and orders.
  const auto store_event = kinds::find_kind(kinds::kStoreEvent, "");
  std::vector<KeptRow<kinds::Record>> declared;
  kinds::RecordGenerator events_from(
      store_event, {.seed = 42, .base_ts = kBase, .time_spread_us = 3'600'000'000});
  // The generator writes each event's type in its body too.
  const kinds::DeclaredCodec read_events(store_event, kinds::TypeFrom::kBody);
  while (declared.size() < n) {
    auto parsed = read_events.parse(events_from.next().payload);
    if (auto* record = std::get_if<kinds::Record>(&parsed)) {
      declared.push_back(
          {{0, static_cast<std::int64_t>(declared.size()), 0, {}, {}, {}}, std::move(*record)});
    }
  }
  const auto order = kinds::find_kind("order", "");
  std::vector<KeptRow<kinds::Record>> orders;
  kinds::RecordGenerator orders_from(order, {.seed = 42, .base_ts = kBase});
  while (orders.size() < n) {
    auto parsed = kinds::parse_record(order, orders_from.next().payload);
    if (auto* record = std::get_if<kinds::Record>(&parsed)) {
      orders.push_back(
          {{0, static_cast<std::int64_t>(orders.size()), 0, {}, {}, {}}, std::move(*record)});
    }
  }

  pg::CopyText out;
  sink::detail::KindRows<kinds::Record> declared_rows(
      store_event, sink::detail::Identities::kTableKey, kinds::PiiMode::kKeep, "", "store-events",
      registry, nullptr);
  const double declared_ns = median_ns_per_row(n, rounds, [&] {
    encode_all(out, declared,
               [&](pg::CopyText& o, const auto& row) { declared_rows.append_record(o, row); });
  });
  sink::detail::KindRows<kinds::Record> order_rows(order, sink::detail::Identities::kRegistry,
                                                   kinds::PiiMode::kKeep, "", "store-orders",
                                                   registry, nullptr);
  const double order_ns = median_ns_per_row(n, rounds, [&] {
    encode_all(out, orders,
               [&](pg::CopyText& o, const auto& row) { order_rows.append_record(o, row); });
  });
  std::printf("rows %zu, rounds %d, CPU ns per row (median)\n", n, rounds);
  std::printf("store_event %.1f\norder %.1f\n", declared_ns, order_ns);
}
