#include "live_driver.hpp"

#include <algorithm>
#include <array>
#include <ctime>

#include "millrace/core/failure.hpp"
#include "millrace/runtime/log.hpp"
#include "router.hpp"

namespace millrace::api {

namespace {
using Clock = std::chrono::steady_clock;
// PostgreSQL's now() must be past the hour too when the views are read.
constexpr std::chrono::milliseconds kAfterRollover{250};
}  // namespace

std::chrono::milliseconds ms_until_utc_hour_ends() {
  constexpr std::int64_t kHourMs = 3'600'000;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return std::chrono::milliseconds(kHourMs - ms % kHourMs);
}

bool touches_views(std::string_view table, std::string_view schema,
                   const std::vector<std::string>& tables) {
  if (table.size() <= schema.size() + 1 || table.substr(0, schema.size()) != schema ||
      table[schema.size()] != '.') {
    return false;
  }
  const auto name = table.substr(schema.size() + 1);
  return std::find(tables.begin(), tables.end(), name) != tables.end();
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char text[32];
  const auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms.count() % 1000));
  return std::string(text, n) + frac;
}

LiveDriver::LiveDriver(LiveHub& hub, std::unique_ptr<ChangeSource> changes,
                       std::unique_ptr<LiveSource> source, std::string schema,
                       std::vector<std::string> tables, LiveTiming timing)
    : hub_(hub),
      changes_(std::move(changes)),
      source_(std::move(source)),
      schema_(std::move(schema)),
      tables_(std::move(tables)),
      timing_(timing) {}

void LiveDriver::report(const std::string& what, const std::exception& e) {
  // Once per distinct failure, not once per turn.
  const std::string text = what + ": " + e.what();
  if (text == last_warning_) return;
  last_warning_ = text;
  runtime::log_warn(kComponent, "live stream: " + text);
}

void LiveDriver::refresh(Clock::time_point now) {
  try {
    auto views = source_->views(std::vector<std::uint32_t>(unseen_.begin(), unseen_.end()));
    hub_.publish_views(views.bodies, utc_now());
    filling_ = views.filling;
    // Read too early for the changes' transactions: again at the next turn
    // past the coalescing interval, not at the next periodic read; for a
    // while only.
    if (views.behind) {
      if (!unseen_since_) unseen_since_ = now;
      if (now - *unseen_since_ < timing_.shown_within) return;
      runtime::log_warn(kComponent,
                        "live stream: the views' database has not shown " +
                            std::to_string(unseen_.size()) +
                            " transaction(s) the change feed published (the first " +
                            std::to_string(*unseen_.begin()) + ") within " +
                            std::to_string(timing_.shown_within.count()) +
                            " ms; no longer waiting for them (the views are read again every " +
                            std::to_string(timing_.refresh_every.count()) + " ms)");
    }
    unseen_since_.reset();
    dirty_ = false;
    unseen_.clear();
  } catch (const std::exception& e) {
    report("reading the views", e);  // dirty stays: the next turn tries again
  }
}

std::chrono::milliseconds LiveDriver::step(Clock::time_point now) {
  std::chrono::milliseconds pause{0};
  try {
    for (const auto& change : changes_->poll(timing_.poll)) {
      if (!touches_views(change.table, schema_, tables_)) continue;
      dirty_ = true;
      if (change.xid != 0) unseen_.insert(change.xid);
    }
    if (!feed_error_.empty()) runtime::log_info(kComponent, "live stream: reading the change feed");
    feed_error_.clear();
  } catch (const std::exception& e) {
    if (feed_error_.empty()) next_refresh_ = now;  // catch up without it
    feed_error_ = e.what();
    report("reading the change feed", e);
    pause = timing_.poll;
  }
  if ((dirty_ && now - last_refresh_ >= timing_.coalesce) || now >= next_refresh_) {
    last_refresh_ = now;
    refresh(now);
    auto every = timing_.refresh_every;
    if (!feed_error_.empty()) every = timing_.refresh_without_feed;
    if (filling_) every = std::min(every, timing_.refresh_while_filling);
    // Just after the hour ends, so the page's "this hour" and "today" turn
    // over with the clock rather than up to a minute later.
    next_refresh_ = now + std::min(every, timing_.until_hour_ends() + kAfterRollover);
  }
  if (now >= next_health_) {
    next_health_ = now + timing_.health_every;
    try {
      hub_.publish_health(source_->health(feed_error_));
    } catch (const std::exception& e) {
      report("reading the health", e);
    }
  }
  if (now >= next_ping_) {
    next_ping_ = now + timing_.ping_every;
    hub_.ping();
  }
  return pause;
}

}  // namespace millrace::api
