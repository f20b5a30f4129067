// Settings every long-running service takes, registered once.

#include <string>

#include "millrace/core/options.hpp"

namespace millrace::core {

void register_options(OptionSet& o, RetryBackoff& b) {
  o.add_duration("retry-backoff-ms", "MILLRACE_RETRY_BACKOFF_MS", &b.first_ms,
                 OptionSet::DurationUnit::kMilliseconds,
                 "First wait after a retryable PostgreSQL or Kafka failure", 1, 600'000);
  o.add_duration("retry-backoff-max-ms", "MILLRACE_RETRY_BACKOFF_MAX_MS", &b.max_ms,
                 OptionSet::DurationUnit::kMilliseconds,
                 "Longest wait between retries (the wait doubles up to this)", 1, 3'600'000);
}

void validate(const RetryBackoff& b) {
  if (b.max_ms < b.first_ms) {
    throw UsageError("--retry-backoff-max-ms must be >= --retry-backoff-ms");
  }
}

void add_metrics_addr(OptionSet& o, std::string* addr) {
  o.add_string("metrics-addr", "MILLRACE_METRICS_ADDR", addr,
               "host:port serving Prometheus metrics at /metrics (empty: off)");
}

}  // namespace millrace::core
