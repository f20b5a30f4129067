#include "probe.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "archive_metrics.hpp"

namespace millrace::archive::detail {

ArchiveProbe::ArchiveProbe(metrics::Registry& registry, std::string topic)
    : registry_(registry),
      topic_(std::move(topic)),
      publish_errors_(kArchivePublishErrors.counter(registry)),
      last_file_(Clock::now()) {
  kArchiveNewestRecordAge.computed_gauge(registry, [this] {
    std::vector<metrics::Sample> out;
    const double now =
        std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
    std::lock_guard lock(mutex_);
    for (const auto& [p, ms] : newest_ms_) {
      out.push_back({{{"topic", topic_}, {"partition", std::to_string(p)}}, (now - ms) / 1000});
    }
    return out;
  });
  kArchiveSinceLastFile.computed_gauge(registry, [this] {
    std::lock_guard lock(mutex_);
    return std::vector<metrics::Sample>{
        {{{"topic", topic_}}, std::chrono::duration<double>(Clock::now() - last_file_).count()}};
  });
}

void ArchiveProbe::file_committed(const std::string& topic, const WrittenFile& file) {
  const metrics::Labels labels{{"topic", topic}, {"partition", std::to_string(file.partition)}};
  kArchiveFiles.counter(registry_, labels).inc();
  kArchiveRecords.counter(registry_, labels).inc(static_cast<double>(file.records));
  kArchiveBytes.counter(registry_, labels).inc(static_cast<double>(file.bytes));
  std::lock_guard lock(mutex_);
  auto& newest = newest_ms_[file.partition];
  newest = std::max(newest, static_cast<double>(file.max_time_ms));
  last_file_ = Clock::now();
}

}  // namespace millrace::archive::detail
