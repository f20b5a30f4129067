#pragma once

#include <cstdint>
#include <string>

#include "millrace/archive/capture.hpp"
#include "millrace/core/options.hpp"
#include "millrace/stream/consumer.hpp"

namespace millrace::archive {

// Everything millrace-archiver can be told. Member initialisers are the
// defaults; register_options() holds the flags, variables and help.
struct ArchiverConfig {
  // Reading the topic: the shared consumer settings. Its batches are the
  // archive's time windows, so --batch-size and --batch-ms do not apply.
  stream::StreamConfig stream = stream::service_defaults("archiver");
  std::string root;             // required
  std::string ns = "millrace";  // the layout's {namespace}
  std::int64_t window_s = 300;
  std::int64_t max_mb = 300;
  // A file with no records for each window in which a partition received
  // nothing.
  bool empty_files = false;

  RollPolicy policy;  // derived by validate()
};

void register_options(core::OptionSet& options, ArchiverConfig& config);
// Throws core::UsageError naming the setting.
void validate(ArchiverConfig& config);

}  // namespace millrace::archive
