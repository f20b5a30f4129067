#pragma once

// The readers' cache metrics (millrace-api: hits, misses, bypasses, store
// errors, fills), kept apart from the logic (reads.hpp).

#include <cstdint>
#include <vector>

#include "millrace/metrics/metrics.hpp"

namespace millrace::cache {

enum class ReadKind : std::uint8_t { kCategory, kCategories, kProduct };
enum class ReadResult : std::uint8_t { kHit, kMiss, kBypass };

// Thread-safe: the API's workers share one.
class ReadProbe {
 public:
  explicit ReadProbe(metrics::Registry& registry);
  void read(ReadKind kind, ReadResult result);
  void store_error() { store_errors_.inc(); }
  void filled() { fills_.inc(); }

 private:
  std::vector<metrics::Counter> reads_;  // kind * 3 + result
  metrics::Counter store_errors_, fills_;
};

}  // namespace millrace::cache
