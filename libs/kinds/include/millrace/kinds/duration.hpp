#pragma once

// Durations as declarations and the kinds' settings write them: a whole
// number and a unit, `250ms`, `5s`, `90m`, `1h`, `1d` (no libs/core parser
// takes this grammar: MILLRACE_STORE_RETENTION_DAYS is a number of days).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace millrace::kinds {

// nullopt for anything else: no sign, no fraction, no space, no unit left
// out, nothing past 100 years.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// The shortest text parse_duration() reads back to `d`: "90d", "6h", "250ms".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace millrace::kinds
