// Settings every long-running service takes, registered once.

#include <string>

#include "millrace/core/options.hpp"
#include "millrace/core/setting.hpp"

namespace millrace::core {

void register_options(OptionSet& o, RetryBackoff& b) {
  core::declare(o, &b.first_ms,
                {.flag = "retry-backoff-ms",
                 .env = "MILLRACE_RETRY_BACKOFF_MS",
                 .help = "First wait after a retryable PostgreSQL or Kafka failure",
                 .min = 1,
                 .max = 600'000,
                 .unit = core::DurationUnit::kMilliseconds});
  core::declare(o, &b.max_ms,
                {.flag = "retry-backoff-max-ms",
                 .env = "MILLRACE_RETRY_BACKOFF_MAX_MS",
                 .help = "Longest wait between retries (the wait doubles up to this)",
                 .min = 1,
                 .max = 3'600'000,
                 .unit = core::DurationUnit::kMilliseconds});
}

void validate(const RetryBackoff& b) {
  if (b.max_ms < b.first_ms) {
    throw UsageError("--retry-backoff-max-ms must be >= --retry-backoff-ms");
  }
}

void add_metrics_addr(OptionSet& o, std::string* addr) {
  core::declare(o, addr,
                {.flag = "metrics-addr",
                 .env = "MILLRACE_METRICS_ADDR",
                 .help = "host:port serving Prometheus metrics at /metrics (empty: off)"});
}

}  // namespace millrace::core
