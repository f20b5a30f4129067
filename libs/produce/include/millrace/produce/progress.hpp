#pragma once

// Progress of a long command (millrace produce, millrace generate) for a
// person watching a terminal: how far, how fast, how long still. The
// commands report it; the CLI shows it on stderr only when stderr is a
// terminal (or --progress always), so piped and scripted runs stay quiet.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "millrace/core/options.hpp"

namespace millrace::produce {

// --progress auto|always|never, for every long command (a choice the
// parser checks). show_progress: auto shows it only when stderr is a
// terminal (a person watching), so piped and scripted runs stay quiet.
enum class ShowProgress : std::uint8_t { kAuto, kAlways, kNever };
inline constexpr core::EnumNames<ShowProgress, 3> kShowProgressNames(
    {{ShowProgress::kAuto, "auto"},
     {ShowProgress::kAlways, "always"},
     {ShowProgress::kNever, "never"}});
void add_progress_option(core::OptionSet& o, ShowProgress& progress);

bool show_progress(ShowProgress progress);

struct Progress {
  std::uint64_t done = 0;    // records sent (produce) or written (generate)
  std::uint64_t acked = 0;   // of those, acknowledged by Kafka (produce only)
  std::uint64_t failed = 0;  // deliveries that failed (produce only)
  // Share of the whole, when the whole is known (a count, or a file's size):
  // 0..1. nullopt for stdin.
  std::optional<double> fraction;
  double elapsed_s = 0;
};

// Called now and then while a command runs, and once at its end.
using ProgressFn = std::function<void(const Progress&)>;

// One line: "12,345 sent, 12,000 delivered (24%) · 4,012/s · about 22 s left".
// `acks`: whether to show delivered and failed (produce) or not (generate).
std::string format_progress(const Progress& p, bool acks);

// Rewrites one line of `out` (a terminal) at most every `interval`; finish()
// writes the last state and ends the line.
class ProgressLine {
 public:
  ProgressLine(std::FILE* out, bool acks,
               std::chrono::milliseconds interval = std::chrono::milliseconds(250));
  void update(const Progress& p);
  void finish(const Progress& p);

 private:
  void draw(const Progress& p);

  std::FILE* out_;
  bool acks_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point last_{};
  bool drawn_ = false;
};

// Throttles a ProgressFn for callers in a hot loop: ready() is true at most
// every `interval`, so the caller builds a Progress only then.
class ProgressClock {
 public:
  explicit ProgressClock(std::chrono::milliseconds interval = std::chrono::milliseconds(200))
      : interval_(interval), next_(std::chrono::steady_clock::now() + interval) {}
  bool ready() {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_) return false;
    next_ = now + interval_;
    return true;
  }

 private:
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point next_;
};

}  // namespace millrace::produce
