#pragma once

// What drives the live stream (live_hub.hpp): turns, run on the API's worker, that follow the
// change feed's topic and, when a change touches a table the dashboard's
// views read, reads those views again and publishes them; and that
// publishes the pipeline's health every few seconds. Kafka and PostgreSQL
// are behind ports, so the rules are unit-tested with fakes.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "live_hub.hpp"

namespace millrace::api {

// A change read from the change feed's topic: its table ("schema.name") and
// its transaction's id (the record's source.xid; 0 when it has none).
struct FeedChange {
  std::string table;
  std::uint32_t xid = 0;
};

// The change feed's topic, read from its end (what came before is in the
// views already read).
class ChangeSource {
 public:
  virtual ~ChangeSource() = default;
  // Positions at the end of every partition (first call), then waits up to
  // `timeout` for changes; the changes read.
  // Throws core::InfraError when Kafka cannot answer.
  virtual std::vector<FeedChange> poll(std::chrono::milliseconds timeout) = 0;
};

// What the dashboard shows, read from PostgreSQL (and Kafka, for the ends of
// the partitions and the dead-letter topics).
// The dashboard's views as read once.
struct LiveViews {
  // Each view's body, as GET /v1/views/{name} would give it.
  std::map<std::string, std::string> bodies;
  // Whether a declared view is not filled yet (its body's `fill`): its
  // fill's progress is kept in tables the change feed does not publish.
  bool filling = false;
  // A transaction asked about was not visible yet to a read begun then:
  // the views may not show it.
  bool behind = false;
};

class LiveSource {
 public:
  virtual ~LiveSource() = default;
  // Reads the views, and says whether each of `xids` (transactions the
  // change feed published) was visible to the reads (else `behind`):
  // PostgreSQL hands a commit to logical decoding once it is in the WAL and
  // shows it to other sessions a moment later, so the feed's record of it
  // can come first. Throws core::InfraError.
  virtual LiveViews views(const std::vector<std::uint32_t>& xids) = 0;
  // The health object (docs/api.md); `feed_error` is empty while the change
  // feed's topic is read. Throws core::InfraError.
  virtual std::string health(const std::string& feed_error) = 0;
};

// Milliseconds from now to the next whole UTC hour.
std::chrono::milliseconds ms_until_utc_hour_ends();

struct LiveTiming {
  // A refresh waits this long after the one before, so a burst of changes
  // costs one read of the views.
  std::chrono::milliseconds coalesce{100};
  // Views are read again this often anyway (an hour or a day rolls over
  // with no change), and more often while the feed cannot be read.
  std::chrono::milliseconds refresh_every{60'000};
  // How long until the current UTC hour ends (this hour's and today's views
  // then change with no commit): the views are read again just after. The
  // unit tests give a clock of their own.
  std::function<std::chrono::milliseconds()> until_hour_ends = ms_until_utc_hour_ends;
  std::chrono::milliseconds refresh_without_feed{5'000};
  // And this often while a declared view is not filled yet: its claim and
  // the fill's progress change no published table, so the page would say
  // them up to a minute late.
  std::chrono::milliseconds refresh_while_filling{5'000};
  // A change's transaction the views' database does not show yet is waited
  // for (a read at each coalescing interval) this long at most: then the
  // driver says so in its log and leaves it to the periodic reads (a
  // replica that stopped replaying, or a database other than the feed's).
  std::chrono::milliseconds shown_within{10'000};
  std::chrono::milliseconds health_every{2'000};
  std::chrono::milliseconds ping_every{15'000};
  std::chrono::milliseconds poll{100};
};

// Whether a change to `table` ("schema.name") can change a dashboard view
// of `schema`, whose views read `tables` (ServedViews::tables).
bool touches_views(std::string_view table, std::string_view schema,
                   const std::vector<std::string>& tables);

class LiveDriver {
 public:
  LiveDriver(LiveHub& hub, std::unique_ptr<ChangeSource> changes,
             std::unique_ptr<LiveSource> source, std::string schema,
             std::vector<std::string> tables, LiveTiming timing = {});
  LiveDriver(const LiveDriver&) = delete;
  LiveDriver& operator=(const LiveDriver&) = delete;

  // One turn of the loop, which the service runs on its runtime::Worker
  // (the unit tests call it): returns the pause before the next turn, the
  // poll's after the feed could not be read, zero otherwise.
  std::chrono::milliseconds step(std::chrono::steady_clock::time_point now);

 private:
  void refresh(std::chrono::steady_clock::time_point now);
  void report(const std::string& what, const std::exception& e);

  LiveHub& hub_;
  std::unique_ptr<ChangeSource> changes_;
  std::unique_ptr<LiveSource> source_;
  std::string schema_;
  std::vector<std::string> tables_;
  LiveTiming timing_;

  bool dirty_ = true;
  // The transactions of the changes that made the views dirty: a read that
  // cannot see them yet leaves the views dirty.
  std::set<std::uint32_t> unseen_;
  // Since when reads have not shown them (unset while they are shown).
  std::optional<std::chrono::steady_clock::time_point> unseen_since_;
  bool filling_ = false;  // as the last read of the views said
  std::string feed_error_;
  std::string last_warning_;
  std::chrono::steady_clock::time_point last_refresh_{};
  std::chrono::steady_clock::time_point next_refresh_{};
  std::chrono::steady_clock::time_point next_health_{};
  std::chrono::steady_clock::time_point next_ping_{};
};

// Now as RFC 3339 UTC with milliseconds: "2026-11-23T22:40:00.123Z".
std::string utc_now();

}  // namespace millrace::api
