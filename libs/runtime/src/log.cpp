#include "millrace/runtime/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace millrace::runtime {

void log(Level level, std::string_view component, std::string_view text) {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  const char* name = level == Level::kInfo ? "INFO" : level == Level::kWarn ? "WARN" : "ERROR";
  // One fprintf per line so lines from several threads do not interleave.
  std::fprintf(stderr, "%s.%03lldZ %s %.*s: %.*s\n", stamp, static_cast<long long>(ms % 1000), name,
               static_cast<int>(component.size()), component.data(), static_cast<int>(text.size()),
               text.data());
}

}  // namespace millrace::runtime
