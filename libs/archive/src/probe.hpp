#pragma once

// millrace-archiver's own metrics, apart from its logic. Records read and
// their outcome (persisted, reason "archived") are the stream consumer's
// metrics; these say what reached the archive, counted when a file's commit
// succeeded.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "millrace/archive/writer.hpp"
#include "millrace/metrics/metrics.hpp"

namespace millrace::archive::detail {

class ArchiveProbe {
 public:
  ArchiveProbe(metrics::Registry& registry, std::string topic);

  void file_committed(const std::string& topic, const WrittenFile& file);
  void publish_failed() { publish_errors_.inc(); }

 private:
  using Clock = std::chrono::system_clock;
  metrics::Registry& registry_;
  std::string topic_;
  metrics::Counter publish_errors_;
  std::mutex mutex_;
  std::map<std::int32_t, double> newest_ms_;  // newest archived record per partition
  Clock::time_point last_file_;               // or the start, before the first
};

}  // namespace millrace::archive::detail
