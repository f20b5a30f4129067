#include "millrace/produce/progress.hpp"

#include <unistd.h>

#include <cmath>

#include "millrace/core/failure.hpp"
#include "millrace/core/setting.hpp"

namespace millrace::produce {

namespace {

// 1234567 -> "1,234,567"
std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  const std::size_t lead = digits.size() % 3 == 0 ? 3 : digits.size() % 3;
  out += digits.substr(0, lead);
  for (std::size_t i = lead; i < digits.size(); i += 3) out += "," + digits.substr(i, 3);
  return out;
}

std::string duration(double s) {
  const auto secs = static_cast<std::uint64_t>(std::llround(s));
  if (secs == 0) return "under 1 s";
  if (secs < 60) return std::to_string(secs) + " s";
  if (secs < 3600) return std::to_string(secs / 60) + " min " + std::to_string(secs % 60) + " s";
  return std::to_string(secs / 3600) + " h " + std::to_string(secs % 3600 / 60) + " min";
}

}  // namespace

void add_progress_option(core::OptionSet& o, ShowProgress& progress) {
  core::declare(
      o, &progress, kShowProgressNames,
      {.flag = "progress",
       .help = "Show progress on stderr: auto when stderr is a terminal, always or never"});
}

bool show_progress(ShowProgress progress) {
  return progress == ShowProgress::kAlways ||
         (progress == ShowProgress::kAuto && ::isatty(STDERR_FILENO) == 1);
}

std::string format_progress(const Progress& p, bool acks) {
  std::string line = grouped(p.done) + (acks ? " sent" : " written");
  if (acks) {
    line += ", " + grouped(p.acked) + " delivered";
    if (p.failed > 0) line += ", " + grouped(p.failed) + " failed";
  }
  if (p.fraction) {
    line += " (" + std::to_string(static_cast<int>(std::floor(*p.fraction * 100))) + "%)";
  }
  // The rate of what is finished: acknowledged records for produce.
  const std::uint64_t finished = acks ? p.acked : p.done;
  if (p.elapsed_s > 0) {
    line += " · " + grouped(static_cast<std::uint64_t>(finished / p.elapsed_s)) + "/s";
  }
  if (p.fraction && *p.fraction > 0 && *p.fraction < 1 && p.elapsed_s > 0) {
    line += " · about " + duration(p.elapsed_s * (1 - *p.fraction) / *p.fraction) + " left";
  }
  return line;
}

ProgressLine::ProgressLine(std::FILE* out, bool acks, std::chrono::milliseconds interval)
    : out_(out), acks_(acks), interval_(interval) {}

void ProgressLine::update(const Progress& p) {
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < interval_) return;
  last_ = now;
  draw(p);
}

void ProgressLine::finish(const Progress& p) {
  draw(p);
  std::fputc('\n', out_);
  std::fflush(out_);
}

void ProgressLine::draw(const Progress& p) {
  // Carriage return, the line, then erase whatever a longer last line left.
  std::fprintf(out_, "\r%s\x1b[K", format_progress(p, acks_).c_str());
  std::fflush(out_);
  drawn_ = true;
}

}  // namespace millrace::produce
