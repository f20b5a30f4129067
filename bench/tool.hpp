#pragma once

// What the bench tools share: their flags' numbers, and nearest-rank
// percentiles as one JSON object, computed the way bench/wrk/ingest.lua
// computes wrk's.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace millrace::bench {

// Calls handle(flag, value) for each pair of arguments: every flag of the
// bench tools takes a value. `handle` returns false for a flag it does not
// know.
template <typename Handle>
void for_each_flag(int argc, char** argv, const char* usage, Handle handle) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value\n" + usage);
    if (!handle(flag, std::string(argv[++i]))) {
      throw std::invalid_argument("unknown flag " + flag + "\n" + usage);
    }
  }
}

// A flag's value as a whole number no less than `min`; throws naming the flag.
inline int whole_number(const std::string& flag, const std::string& value, int min) {
  std::size_t used = 0;
  int n = 0;
  try {
    n = std::stoi(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || n < min) {
    throw std::invalid_argument(flag + ": want a whole number >= " + std::to_string(min) + ": " +
                                value);
  }
  return n;
}

// Microsecond samples in, milliseconds out; -1 marks a sample never taken.
inline std::string percentiles_json(std::vector<std::int64_t> us) {
  us.erase(std::remove(us.begin(), us.end(), -1), us.end());
  if (us.empty()) return "null";
  std::sort(us.begin(), us.end());
  const auto at = [&](double p) {
    const auto rank = std::clamp<std::size_t>(
        static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(us.size()))), 1,
        us.size());
    return static_cast<double>(us[rank - 1]) / 1000.0;
  };
  char buf[200];
  std::snprintf(buf, sizeof buf, R"({"p50":%.3f,"p99":%.3f,"p999":%.3f,"max":%.3f,"samples":%zu})",
                at(50), at(99), at(99.9), static_cast<double>(us.back()) / 1000.0, us.size());
  return buf;
}

}  // namespace millrace::bench
