#include "millrace/websocket/source.hpp"

#include <algorithm>
#include <ctime>
#include <utility>

#include "millrace/core/failure.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/runtime/health.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/worker.hpp"
#include "source_metrics.hpp"

namespace millrace::websocket {

namespace {

constexpr std::string_view kComponent = "websocket";
using std::chrono::steady_clock;
using std::chrono::system_clock;

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             system_clock::now().time_since_epoch())
      .count();
}

// "finnhub-20261129T093512.123Z": the source and its start, to the
// millisecond, so a restart within a second still makes a new run.
std::string run_id(const std::string& source, std::int64_t started_us) {
  std::string ts = core::format_timestamp(started_us);  // 2026-11-29T09:35:12.123456Z
  std::string compact;
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const char c = ts[i];
    if (c == '-' || c == ':') continue;
    if (c == '.') {
      compact += ts.substr(i, 4);
      break;
    }
    compact += c;
  }
  return source + "-" + compact + "Z";
}

}  // namespace

void Ticket::answer(bool ok) {
  if (!ok) failed_ = true;
  if (pending_.fetch_sub(1) != 1) return;
  if (failed_) {
    ++counts_.lost;
    if (metrics_ != nullptr) metrics_->lost.inc();
  } else if (letter_) {
    ++counts_.refused;
    if (metrics_ != nullptr) metrics_->refused.inc();
  } else {
    counts_.records += records_;
    ++counts_.produced;
    if (metrics_ != nullptr) {
      metrics_->frame_ack_seconds.observe(
          std::chrono::duration<double>(steady_clock::now() - received_).count());
      metrics_->produced.inc();
      metrics_->records.inc(static_cast<double>(records_));
      metrics_->run_records.set(static_cast<double>(counts_.records.load()));
    }
  }
  delete this;
}

Source::Source(SourceOptions options, const kinds::FeedDecl& feed, const kinds::Declaration& kind,
               Connection& connection, Output& output, RunStore& store, runtime::Worker& worker,
               SourceMetrics* metrics, runtime::Health* health)
    : options_(std::move(options)),
      feed_(feed),
      kind_(kind),
      connection_(connection),
      output_(output),
      store_(store),
      worker_(worker),
      metrics_(metrics),
      health_(health) {}

void Source::recover() {
  worker_.retry("ending the runs left open", [&] { store_.end_open_runs(options_.source); });
}

std::optional<EndedRun> Source::last_ended() const {
  std::lock_guard lock(ended_mutex_);
  return ended_;
}

void Source::set_symbols(std::vector<std::string> symbols) {
  std::lock_guard lock(symbols_mutex_);
  new_symbols_ = std::move(symbols);
}

steady_clock::time_point Source::run() {
  const auto start = steady_clock::now();
  if (!first_start_) first_start_ = start;
  {
    std::lock_guard lock(symbols_mutex_);
    if (new_symbols_) options_.symbols = *std::exchange(new_symbols_, std::nullopt);
  }
  run_ = RunState{};
  run_.started_us = now_us();
  run_.run_id = run_id(options_.source, run_.started_us);
  run_.source = options_.source;
  run_.feed = feed_.name;
  run_.url = options_.url;
  run_.topic = options_.topic;
  counts_.received = counts_.produced = counts_.refused = counts_.control = counts_.lost =
      counts_.records = 0;
  if (metrics_ != nullptr) metrics_->run_records.set(0);
  const bool forever = options_.run_for.count() == 0;
  const auto end = forever ? steady_clock::time_point::max() : start + options_.run_for;
  runtime::log_info(kComponent,
                    "run " + run_.run_id + " started: " + options_.url + " to " + options_.topic +
                        (forever ? std::string(", until stopped")
                                 : ", for " + std::to_string(options_.run_for.count()) + " s"));
  sync(true);
  // A connection kept from the last run is not a reconnection.
  bool first = !connected_;
  std::string end_reason = "finished";
  httpd::WebSocketFrame frame;  // its buffer reused from frame to frame
  try {
    while (steady_clock::now() < end && !worker_.stopping()) {
      if (!connected_) {
        connect(end, first);
        first = false;
        continue;
      }
      apply_symbols();
      // Back at least every status interval, and at the run's end, even
      // from a feed that is quiet: the row stays current, the run on time.
      const auto until = std::min(
          end, steady_clock::now() + std::max<std::chrono::milliseconds>(
                                         options_.status_interval, std::chrono::milliseconds(100)));
      const auto got = connection_.read(frame, until);
      const auto received = steady_clock::now();
      if (got == httpd::WebSocketClient::Read::kTimeout) {
        sync(false);
        continue;
      }
      if (got == httpd::WebSocketClient::Read::kEnded) {
        connected_ = false;
        if (metrics_ != nullptr) metrics_->connected.set(0);
        if (worker_.stopping()) break;
        const std::string why = connection_.ended();
        runtime::log_warn(kComponent, "run " + run_.run_id + ": disconnected from " + options_.url +
                                          ": " + why +
                                          "; what the feed sends until the next connect is lost "
                                          "(recorded as a gap)");
        open_gap(why);
        if (health_ != nullptr) {
          health_->set("feed", "disconnected from " + options_.url + ": " + why,
                       "it reconnects by itself; ingestion_gaps records what was missed");
        }
        continue;
      }
      handle(frame, received);
      sync(false);
    }
  } catch (const RunOver&) {
    // The run ended while connecting.
  } catch (const runtime::Stopped&) {
    end_reason = "stopped";
  } catch (const std::exception& e) {
    end_reason = "failed";
    runtime::log_error(kComponent, "run " + run_.run_id + " failed: " + e.what());
    connection_.close();
    output_.flush();
    run_.ended_us = now_us();
    run_.end_reason = end_reason;
    sync(true);
    throw;
  }
  if (worker_.stopping() && end_reason == "finished") end_reason = "stopped";
  // The next start on the schedule from the first, after now.
  auto next = steady_clock::now();
  if (options_.every.count() != 0 && !forever) {
    next = *first_start_;
    while (next <= steady_clock::now()) next += options_.every;
  }
  // Runs back to back keep the connection: closing it would lose what the
  // feed sends until the next connect.
  const bool keep = connected_ && end_reason == "finished" &&
                    next - steady_clock::now() < std::chrono::seconds(1);
  if (!keep) {
    connection_.close();
    connected_ = false;
    if (metrics_ != nullptr) metrics_->connected.set(0);
  }
  // Every frame's answer, before the last word on the run.
  output_.flush();
  close_gap();
  run_.ended_us = now_us();
  run_.end_reason = end_reason;
  sync(true);
  if (health_ != nullptr) health_->clear("feed");
  runtime::log_info(
      kComponent, "run " + run_.run_id + " " + end_reason + ": received " +
                      std::to_string(run_.received) + " frame(s): produced " +
                      std::to_string(run_.produced) + " (" + std::to_string(run_.records) +
                      " record(s)), refused " + std::to_string(run_.refused) + ", control " +
                      std::to_string(run_.control) + ", lost " + std::to_string(run_.lost) + "; " +
                      std::to_string(run_.gaps.size()) + " gap(s)");
  if (metrics_ != nullptr) {
    metrics_->previous_run_records.set(static_cast<double>(previous_records_));
    metrics_->last_run_records.set(static_cast<double>(run_.records));
    metrics_->last_run_end.set(static_cast<double>(*run_.ended_us) / 1e6);
  }
  {
    EndedRun e{run_.run_id, run_.started_us, *run_.ended_us, run_.records, std::nullopt, false};
    if (previous_records_ >= 0) {
      e.previous_records = static_cast<std::uint64_t>(previous_records_);
      e.short_run = static_cast<double>(run_.records) <
                    options_.alert_below_ratio * static_cast<double>(previous_records_);
    }
    if (e.short_run) {
      runtime::log_warn(kComponent, "run " + run_.run_id + " is short: " +
                                        std::to_string(run_.records) + " record(s), against " +
                                        std::to_string(previous_records_) + " in the run before");
    }
    std::lock_guard lock(ended_mutex_);
    ended_ = std::move(e);
  }
  previous_records_ = static_cast<std::int64_t>(run_.records);
  return next;
}

void Source::connect(steady_clock::time_point end, bool first) {
  worker_.retry("connecting to " + options_.url, [&] {
    if (steady_clock::now() >= end) throw RunOver{};
    try {
      connection_.connect();
      subscribed_.clear();
      for (const auto& symbol : options_.symbols) {
        const auto message = kinds::feed_message(feed_.subscribe, symbol);
        if (!message.empty()) connection_.send_text(message);
        subscribed_.push_back(symbol);
      }
    } catch (const core::InfraError& e) {
      // The first failure opens the gap (a loss opened it already).
      open_gap(std::string("could not connect: ") + e.what());
      // The row stays current through a long outage too.
      sync(false);
      if (health_ != nullptr) health_->set("feed", std::string("not connected: ") + e.what());
      throw;
    }
  });
  connected_ = true;
  if (!first) {
    ++run_.reconnections;
    if (metrics_ != nullptr) metrics_->reconnections.inc();
  }
  close_gap();
  sync(true);
  if (metrics_ != nullptr) metrics_->connected.set(1);
  if (health_ != nullptr) health_->clear("feed");
  runtime::log_info(kComponent, "run " + run_.run_id + ": connected to " + options_.url +
                                    ", subscribed to " + std::to_string(subscribed_.size()) +
                                    " symbol(s)");
}

void Source::apply_symbols() {
  std::vector<std::string> symbols;
  {
    std::lock_guard lock(symbols_mutex_);
    if (!new_symbols_) return;
    symbols = *std::exchange(new_symbols_, std::nullopt);
  }
  for (const auto& s : subscribed_) {
    if (std::find(symbols.begin(), symbols.end(), s) != symbols.end()) continue;
    const auto message = kinds::feed_message(feed_.unsubscribe, s);
    if (!message.empty()) connection_.send_text(message);
  }
  for (const auto& s : symbols) {
    if (std::find(subscribed_.begin(), subscribed_.end(), s) != subscribed_.end()) continue;
    const auto message = kinds::feed_message(feed_.subscribe, s);
    if (!message.empty()) connection_.send_text(message);
  }
  runtime::log_info(kComponent, "symbols now " + std::to_string(symbols.size()) + " (were " +
                                    std::to_string(subscribed_.size()) + ")");
  subscribed_ = symbols;
  options_.symbols = std::move(symbols);
}

void Source::handle(const httpd::WebSocketFrame& frame, steady_clock::time_point received) {
  const auto number = ++counts_.received;
  if (metrics_ != nullptr) metrics_->received.inc();
  using Type = httpd::WebSocketFrame::Type;
  if (frame.type == Type::kBinary) {
    return refuse(frame.data, frame.size, "binary_frame", "",
                  "a binary frame of " + std::to_string(frame.size) +
                      " bytes: the feed file maps text frames only");
  }
  if (frame.type == Type::kTooLarge) {
    return refuse(frame.data, frame.size, "frame_too_large", "",
                  "a frame of " + std::to_string(frame.size) + " bytes, over --max-frame-bytes (" +
                      std::to_string(options_.max_frame_bytes) + "): its first bytes are here");
  }
  const auto mapped = kinds::map_frame(feed_, kind_, frame.data, {run_.run_id, number});
  using Outcome = kinds::MappedFrame::Outcome;
  switch (mapped.outcome) {
    case Outcome::kControl:
      ++counts_.control;
      if (metrics_ != nullptr) metrics_->control.inc();
      return;
    case Outcome::kRefused:
      return refuse(frame.data, frame.size, core::reason_code(mapped.rejection.reason),
                    mapped.rejection.field, mapped.rejection.detail);
    case Outcome::kRecords: {
      auto* ticket = new Ticket(counts_, metrics_, mapped.records.size(), false, received);
      for (const auto& r : mapped.records) output_.record(r.key, r.payload, ticket);
      return;
    }
  }
}

void Source::refuse(std::string_view data, std::size_t size, std::string_view reason,
                    std::string_view field, std::string_view detail) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"millrace.reason", std::string(reason)},
      {"millrace.field", std::string(field)},
      {"millrace.detail", std::string(detail)},
      {"millrace.source.url", options_.url},
      {"millrace.source.run", run_.run_id},
      {"millrace.source.frame", std::to_string(counts_.received.load())},
      {"millrace.source.received_at", core::format_timestamp(now_us())},
      {"millrace.original_size", std::to_string(size)}};
  output_.letter(data, headers, new Ticket(counts_, metrics_, 1, true));
}

void Source::open_gap(std::string reason) {
  if (!run_.gaps.empty() && !run_.gaps.back().ended_us) return;  // one open at a time
  Gap g;
  g.number = static_cast<int>(run_.gaps.size()) + 1;
  g.started_us = now_us();
  g.reason = std::move(reason);
  run_.gaps.push_back(std::move(g));
  sync(true);
}

void Source::close_gap() {
  if (run_.gaps.empty() || run_.gaps.back().ended_us) return;
  auto& g = run_.gaps.back();
  g.ended_us = now_us();
  g.dirty = true;
}

void Source::settle_counts() {
  run_.received = counts_.received;
  run_.produced = counts_.produced;
  run_.refused = counts_.refused;
  run_.control = counts_.control;
  run_.lost = counts_.lost;
  run_.records = counts_.records;
}

// Best effort while the run goes on: PostgreSQL away must not stop the
// reading (the feed does not replay); the next sync writes it all.
void Source::sync(bool force) {
  const auto now = steady_clock::now();
  if (!force && now - last_sync_ < options_.status_interval) return;
  last_sync_ = now;
  settle_counts();
  try {
    store_.write(run_);
    for (auto& g : run_.gaps) g.dirty = false;
    if (health_ != nullptr) health_->clear("runs");
  } catch (const core::InfraError& e) {
    if (!e.retryable()) throw;
    runtime::log_warn(kComponent, std::string("could not write run ") + run_.run_id +
                                      " (written at the next chance): " + e.what());
    if (health_ != nullptr) {
      health_->set("runs", std::string("the run's row is behind: ") + e.what(),
                   "the source keeps reading; the row is written once PostgreSQL answers");
    }
  }
}

}  // namespace millrace::websocket
