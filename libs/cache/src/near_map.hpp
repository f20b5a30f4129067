#pragma once

// The near cache's memory (near.hpp): the entries the API's workers read
// from the store, and the rules that decide when one may be served without
// asking the store again. Pure: the clock is the caller's, and what the store
// says of its changes arrives through changed(), live_changed() and
// listening(). Thread-safe: the event loops read, the workers ask and keep,
// the listener drops.

#include <chrono>
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "millrace/cache/store.hpp"
#include "millrace/catalog/reads.hpp"

namespace millrace::cache::detail {

using NearClock = std::chrono::steady_clock;

// A worker's claim on keeping what it is about to read: keep() takes the
// entry only if nothing changed the key (or stopped the listening) since.
struct Ticket {
  std::string key;
  std::uint64_t token = 0;  // 0: nothing will be kept (not listening)
  std::uint64_t live_changes = 0;
  NearClock::time_point asked{};
};

class NearMap {
 public:
  explicit NearMap(std::size_t max_entries) : max_entries_(max_entries) {}

  // The body held for `key`, if held and trusted at `now`.
  std::optional<catalog::HeldBody> get(std::string_view key, NearClock::time_point now) const;

  // The worker's side: ask() before it sends its lookup (at `now`), keep()
  // with what the lookup found.
  Ticket ask(std::string_view key, NearClock::time_point now);
  void keep(const Ticket& ticket, const Lookup& found);

  // The listener's side. listening(true) once the store sends changes,
  // listening(false) once that may no longer be so: both drop everything.
  void listening(bool on);
  // The store changed `key` (any generation's).
  void changed(std::string_view key);
  // The store changed the live mark.
  void live_changed();
  // The store dropped everything (FLUSHALL, FLUSHDB).
  void changed_all();

  std::size_t size() const;

 private:
  struct Slot {
    std::uint64_t token = 0;
    bool held = false;
    std::string version;  // store.hpp's: equal-length hex, or "0"
    std::optional<std::string> body;
  };

  using Slots = std::unordered_map<std::string, Slot>;

  // Empties the map under the lock and hands back what it held, for the
  // caller to free after unlocking: an event loop asking meanwhile waits
  // for the swap, not for freeing up to max_entries_ bodies.
  Slots clear_locked();

  const std::size_t max_entries_;
  mutable std::shared_mutex mutex_;
  bool listening_ = false;
  std::uint64_t next_token_ = 1;
  // Counts the live mark's changes (and every start or loss of listening),
  // so a lease read before one is not taken for the current one.
  std::uint64_t live_changes_ = 0;
  std::optional<std::int64_t> generation_;  // the held entries'
  bool live_known_ = false;
  NearClock::time_point live_until_{};
  Slots slots_;
};

}  // namespace millrace::cache::detail
