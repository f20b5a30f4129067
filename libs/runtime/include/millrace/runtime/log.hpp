#pragma once

#include <string_view>

#include "millrace/core/enum_names.hpp"

namespace millrace::runtime {

enum class Level { kDebug, kInfo, kWarn, kError };
// Their names in settings (--log-level).
inline constexpr core::EnumNames<Level, 4> kLevelNames({{Level::kDebug, "debug"},
                                                        {Level::kInfo, "info"},
                                                        {Level::kWarn, "warn"},
                                                        {Level::kError, "error"}});

// One line to stderr: "2026-11-21T14:03:00.123Z WARN sink: text", unless
// `level` is below the process's log level. Not for per-message use in hot
// loops: count those in metrics instead.
void log(Level level, std::string_view component, std::string_view text);

// The lowest level written: info until set (--log-level, which SIGHUP
// reloads; runtime/settings.hpp). Any thread.
void set_log_level(Level level);
Level log_level();
// Whether a line of `level` would be written: for a debug line whose text
// costs something to build.
inline bool logs(Level level) {
  return level >= log_level();
}

inline void log_debug(std::string_view component, std::string_view text) {
  log(Level::kDebug, component, text);
}
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
