#pragma once
// The grammars of setting values that are not a plain number or text, each
// written once: durations and lists. Options (options.hpp), the CLI and the
// webhooks' retry schedule all read them here.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::core {

// A duration: a whole number and its unit, ms, s, m, h or d, with no space
// ("250ms", "5s", "30m", "1h", "7d"). Where a setting's name carries a unit
// (--batch-ms, --window-s), `bare` is that unit and a number alone is read
// in it, as before durations had units; elsewhere a number alone is refused.
// Throws std::invalid_argument saying what is wrong and what to write.
std::chrono::milliseconds parse_duration(
    std::string_view text, std::optional<std::chrono::milliseconds> bare = std::nullopt);

// The shortest exact form in the same grammar: 90000 ms is "90s", 5400000
// "90m", 0 "0s".
std::string format_duration(std::chrono::milliseconds d);

// A comma-separated list: each item trimmed of spaces; empty items (",,",
// a trailing comma, an empty text) are left out.
std::vector<std::string> split_list(std::string_view text, char separator = ',');

// The items joined with `separator`; with ",", as split_list reads them back.
std::string join_list(const std::vector<std::string>& items, std::string_view separator = ",");

}  // namespace millrace::core
