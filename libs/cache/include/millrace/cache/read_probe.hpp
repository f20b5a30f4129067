#pragma once

// The readers' cache metrics (millrace-api: hits, misses, bypasses, store
// errors, fills, the near cache), kept apart from the logic (reads.hpp).

#include <cstdint>
#include <vector>

#include "millrace/metrics/metrics.hpp"

namespace millrace::cache {

enum class ReadKind : std::uint8_t { kCategory, kCategories, kProduct };
// kHeld: answered from the near cache (near.hpp), without asking Redis.
enum class ReadResult : std::uint8_t { kHit, kMiss, kBypass, kHeld };

// Thread-safe: the API's workers share one.
class ReadProbe {
 public:
  explicit ReadProbe(metrics::Registry& registry);
  void read(ReadKind kind, ReadResult result);
  void store_error() { store_errors_.inc(); }
  void filled() { fills_.inc(); }
  void near_listening(bool on) { near_listening_.set(on ? 1 : 0); }
  void near_lost() { near_lost_.inc(); }

 private:
  std::vector<metrics::Counter> reads_;  // kind * 4 + result
  metrics::Counter store_errors_, fills_;
  metrics::Gauge near_listening_;
  metrics::Counter near_lost_;
};

}  // namespace millrace::cache
