#include "probe.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace millrace::archive::detail {

ArchiveProbe::ArchiveProbe(metrics::Registry& registry, std::string topic)
    : registry_(registry),
      topic_(std::move(topic)),
      publish_errors_(registry.counter(
          "millrace_archive_publish_errors_total",
          "Recorded files whose move into the layout failed after their commit (the "
          "partition's next commit retries).")),
      last_file_(Clock::now()) {
  registry.computed_gauge(
      "millrace_archive_newest_record_age_seconds",
      "Age of the newest record archived (its Kafka timestamp) per partition.", [this] {
        std::vector<metrics::Sample> out;
        const double now =
            std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
        std::lock_guard lock(mutex_);
        for (const auto& [p, ms] : newest_ms_) {
          out.push_back({{{"topic", topic_}, {"partition", std::to_string(p)}}, (now - ms) / 1000});
        }
        return out;
      });
  registry.computed_gauge(
      "millrace_archive_seconds_since_last_file",
      "Seconds since this process last committed an archive file (since it started, before "
      "the first).",
      [this] {
        std::lock_guard lock(mutex_);
        return std::vector<metrics::Sample>{
            {{{"topic", topic_}},
             std::chrono::duration<double>(Clock::now() - last_file_).count()}};
      });
}

void ArchiveProbe::file_committed(const std::string& topic, const WrittenFile& file) {
  const metrics::Labels labels{{"topic", topic}, {"partition", std::to_string(file.partition)}};
  registry_.counter("millrace_archive_files_total", "Archive files committed.", labels).inc();
  registry_
      .counter("millrace_archive_records_total", "Records in the archive files committed.", labels)
      .inc(static_cast<double>(file.records));
  registry_.counter("millrace_archive_bytes_total", "Bytes of the archive files committed.", labels)
      .inc(static_cast<double>(file.bytes));
  std::lock_guard lock(mutex_);
  auto& newest = newest_ms_[file.partition];
  newest = std::max(newest, static_cast<double>(file.max_time_ms));
  last_file_ = Clock::now();
}

}  // namespace millrace::archive::detail
