#pragma once

// The store's partition metrics (millrace-sink), kept apart from the logic
// in store_partitions.cpp.

#include "millrace/metrics/metrics.hpp"

namespace millrace::sink::detail {

class StoreProbe {
 public:
  explicit StoreProbe(metrics::Registry& registry);
  void created(int n) { created_.inc(static_cast<double>(n)); }
  void dropped() { dropped_.inc(); }
  void partitions(std::int64_t n) { partitions_.set(static_cast<double>(n)); }
  void held(std::int64_t n) { held_.set(static_cast<double>(n)); }
  void failed() { failures_.inc(); }

 private:
  metrics::Counter created_, dropped_, failures_;
  metrics::Gauge partitions_, held_;
};

}  // namespace millrace::sink::detail
