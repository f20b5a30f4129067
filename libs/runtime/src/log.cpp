#include "millrace/runtime/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace millrace::runtime {

namespace {

std::atomic<Level> threshold{Level::kInfo};

// As a line shows them.
constexpr core::EnumNames<Level, 4> kTags({{Level::kDebug, "DEBUG"},
                                           {Level::kInfo, "INFO"},
                                           {Level::kWarn, "WARN"},
                                           {Level::kError, "ERROR"}});

}  // namespace

void set_log_level(Level level) {
  threshold.store(level, std::memory_order_relaxed);
}

Level log_level() {
  return threshold.load(std::memory_order_relaxed);
}

void log(Level level, std::string_view component, std::string_view text) {
  if (!logs(level)) return;
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  // One fprintf per line so lines from several threads do not interleave.
  std::fprintf(stderr, "%s.%03lldZ %s %.*s: %.*s\n", stamp, static_cast<long long>(ms % 1000),
               kTags.name(level).data(), static_cast<int>(component.size()), component.data(),
               static_cast<int>(text.size()), text.data());
}

}  // namespace millrace::runtime
