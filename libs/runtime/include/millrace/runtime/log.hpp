#pragma once

#include <string_view>

namespace millrace::runtime {

enum class Level { kInfo, kWarn, kError };

// One line to stderr: "2026-11-21T14:03:00.123Z WARN sink: text". Not for
// per-message use in hot loops: count those in metrics instead.
void log(Level level, std::string_view component, std::string_view text);

inline void log_info(std::string_view component, std::string_view text) {
  log(Level::kInfo, component, text);
}
inline void log_warn(std::string_view component, std::string_view text) {
  log(Level::kWarn, component, text);
}
inline void log_error(std::string_view component, std::string_view text) {
  log(Level::kError, component, text);
}

}  // namespace millrace::runtime
