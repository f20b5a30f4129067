#include "millrace/archive/capture.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace millrace::archive {

namespace {

std::tm utc(std::int64_t ms) {
  std::int64_t secs = ms / 1000;
  if (ms % 1000 < 0) --secs;
  const auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

void check_segment(std::string_view what, std::string_view s) {
  if (s.empty() || s == "." || s == ".." || s.find('/') != std::string_view::npos ||
      s.find('\0') != std::string_view::npos) {
    throw std::invalid_argument(std::string(what) + " '" + std::string(s) +
                                "' cannot be a directory name of the archive");
  }
}

}  // namespace

std::string_view capture_schema_json() {
  return R"({"type":"record","name":"EventData","namespace":"Microsoft.ServiceBus.Messaging",)"
         R"("fields":[{"name":"SequenceNumber","type":"long"},)"
         R"({"name":"Offset","type":"string"},)"
         R"({"name":"EnqueuedTimeUtc","type":"string"},)"
         R"({"name":"SystemProperties","type":{"type":"map","values":["long","double","string","bytes"]}},)"
         R"({"name":"Properties","type":{"type":"map","values":["long","double","string","bytes"]}},)"
         R"({"name":"Body","type":["null","bytes"]}]})";
}

std::string enqueued_time_utc(std::int64_t timestamp_ms) {
  const std::tm tm = utc(timestamp_ms);
  const auto fraction = ((timestamp_ms % 1000) + 1000) % 1000;
  char text[96];  // room for any int the format could print
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03d0000Z", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(fraction));
  return text;
}

std::string capture_path(std::string_view ns, std::string_view topic, std::int32_t partition,
                         std::int64_t window_start_ms) {
  check_segment("namespace", ns);
  check_segment("topic", topic);
  if (partition < 0) throw std::invalid_argument("a partition cannot be negative");
  const std::tm tm = utc(window_start_ms);
  char tail[128];
  std::snprintf(tail, sizeof tail, "/%d/%04d/%02d/%02d/%02d/%02d/%02d.avro", partition,
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return std::string(ns) + "/" + std::string(topic) + tail;
}

CaptureRecordView view_of(const CaptureRecord& record,
                          std::vector<std::pair<std::string_view, std::string_view>>& headers) {
  headers.assign(record.headers.begin(), record.headers.end());
  return {.topic = record.topic,
          .partition = record.partition,
          .offset = record.offset,
          .timestamp_ms = record.timestamp_ms,
          .key = record.key ? std::optional<std::string_view>(*record.key) : std::nullopt,
          .headers = headers,
          .body = record.body ? std::optional<std::string_view>(*record.body) : std::nullopt};
}

std::int64_t window_start(const RollPolicy& policy, std::int64_t now_ms) {
  if (policy.window_ms <= 0) throw std::invalid_argument("the window must be positive");
  const auto r = now_ms % policy.window_ms;
  return now_ms - (r < 0 ? r + policy.window_ms : r);
}

bool must_roll(const RollPolicy& policy, std::int64_t start_ms, std::int64_t bytes,
               std::int64_t now_ms) {
  return now_ms >= start_ms + policy.window_ms || bytes >= policy.max_bytes;
}

std::int64_t file_time(std::int64_t window_start_ms, std::int64_t opened_ms, bool first_in_batch,
                       std::optional<std::int64_t> previous_ms) {
  const auto floor_s = [](std::int64_t ms) { return ms - (((ms % 1000) + 1000) % 1000); };
  std::int64_t t = floor_s(first_in_batch ? window_start_ms : opened_ms);
  if (previous_ms && t <= *previous_ms) t = std::max(floor_s(opened_ms), *previous_ms + 1000);
  return t;
}

}  // namespace millrace::archive
