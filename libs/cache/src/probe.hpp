#pragma once

// The invalidator's metrics (millrace-cache), kept apart from its logic:
// entries written, the delay from commit to cache, lag, trust, rebuilds.

#include <atomic>
#include <string_view>
#include <vector>

#include "millrace/cache/read_probe.hpp"
#include "millrace/catalog/records.hpp"
#include "millrace/metrics/metrics.hpp"

namespace millrace::cache::detail {

// Used by the invalidator's one thread; the gauges are read at scrape.
class InvalidatorProbe {
 public:
  explicit InvalidatorProbe(metrics::Registry& registry);
  void written(catalog::Table table, std::size_t entries);
  void skipped_seen() { skipped_.inc(); }
  void delay(double seconds) { delay_.observe(seconds); }
  void unreadable() { unreadable_.inc(); }
  void rebuilt(std::string_view reason);
  void trusted(bool yes) { trusted_.set(yes ? 1 : 0); }
  void lag(std::int64_t records) { lag_.set(static_cast<double>(records)); }
  void applied_commit(double unix_seconds) { last_commit_.set(unix_seconds); }
  void error(std::string_view what);

 private:
  metrics::Registry& registry_;
  metrics::Counter written_categories_, written_products_, skipped_, unreadable_;
  metrics::Histogram delay_;
  metrics::Gauge trusted_, lag_, last_commit_;
};

}  // namespace millrace::cache::detail
