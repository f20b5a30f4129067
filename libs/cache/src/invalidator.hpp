#pragma once

// millrace-cache's core: keeps the catalog cache equal to the database by
// following the change feed, and rebuilds it from the database whenever it
// cannot be sure of that (at start, after losing the feed or the store, a
// truncate, a record it cannot read, or another invalidator's takeover).
//
// A rebuild: take the right to invalidate (Store::acquire), withdraw the
// live mark, start a new generation, note each feed partition's end, load
// every row from one database snapshot into the generation, read the feed
// on from the noted ends, and mark the generation live. A change the feed
// delivers after that is skipped when the snapshot already held its
// transaction (so the load is never overwritten by an older change), and
// applied otherwise. The ends were noted before the snapshot was taken, so
// every change the snapshot missed is at or after them.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "change.hpp"
#include "millrace/cache/store.hpp"
#include "millrace/runtime/worker.hpp"
#include "ports.hpp"
#include "probe.hpp"

namespace millrace::cache::detail {

struct InvalidatorRules {
  // What it keeps, for its log lines: "the cache" (Redis) or "the catalog
  // in memory" (enrichment), and who reads it while it is not live.
  std::string what = "the cache";
  std::string fallback = "readers use PostgreSQL";
  std::string schema;
  // Whether the assets are kept too (a sink enriching a kind by asset):
  // otherwise their changes are passed over and they are not loaded.
  bool assets = false;
  std::string owner;  // this process, in the store's ownership mark
  std::chrono::milliseconds lease{5000};
  std::chrono::milliseconds ttl{3'600'000};
  std::chrono::milliseconds poll{100};
  std::size_t batch = 500;
  std::chrono::milliseconds check_every{1000};  // the feed's ends (lag, liveness)
  std::chrono::milliseconds first_backoff{200}, max_backoff{5000};
  std::function<std::int64_t()> now_us;  // wall clock, for the commit-to-cache delay
  // Called before each round with these rules, to change what may change
  // between rounds (millrace-cache: the batch and ttl a SIGHUP set); none
  // when nothing may.
  std::function<void(InvalidatorRules&)> refresh;
  std::function<std::chrono::steady_clock::time_point()> steady;
};

class Invalidator {
 public:
  // The ports and probe must outlive the invalidator.
  Invalidator(InvalidatorRules rules, Feed& feed, Truth& truth, Store& store,
              InvalidatorProbe& probe);

  // One round of work (a rebuild, or a batch of changes, or a wait for the
  // right to invalidate). Retryable failures are caught, logged and counted
  // here, and end trust until a rebuild succeeds; the result is how long to
  // pause before the next round (zero while all is well). Fatal failures
  // propagate.
  std::chrono::milliseconds step();

  bool trusted() const { return trusted_; }
  std::optional<std::int64_t> generation() const { return generation_; }

  // Withdraws the live mark and gives up the right to invalidate, so
  // readers go to the database at once and a standby can take over. Best
  // effort: a store that cannot be reached keeps them until their lease ends.
  void stop();

 private:
  enum class State : std::uint8_t { kStandby, kRebuild, kFollow };
  struct Failed {
    std::string what;  // feed, store, database
    std::string message;
  };

  void standby();
  void rebuild();
  void follow();
  void check_feed();
  void renew_if_due();
  void apply(const std::vector<CatalogChange>& changes);
  void need_rebuild(std::string_view reason);
  template <typename F>
  auto with(std::string_view what, F&& f) -> decltype(f());

  InvalidatorRules rules_;
  Feed& feed_;
  Truth& truth_;
  Store& store_;
  InvalidatorProbe& probe_;

  State state_ = State::kStandby;
  std::string reason_ = "start";
  bool trusted_ = false;
  std::optional<std::int64_t> generation_;
  std::optional<XidSnapshot> snapshot_;
  // The categories as of the changes applied so far, for the list entry.
  // Each name keeps the version of the change it reflects, and a tombstone
  // when deleted, so it follows the same rule as the entries: the change
  // topic has several partitions, and changes to different categories reach
  // it out of commit order, so a change is kept only over an older one. The
  // list is written with the highest version applied, which is never lower
  // than the one it was last written with.
  struct ListedCategory {
    std::string version;
    std::optional<std::string> body;  // nullopt: deleted
  };
  std::map<std::string, ListedCategory, std::less<>> categories_;
  std::string list_version_;
  void list_change(const std::string& name, const std::string& version,
                   std::optional<std::string> body);
  std::string list_body() const;
  std::chrono::steady_clock::time_point next_renew_{}, next_check_{}, next_acquire_{};
  runtime::Backoff backoff_;
  bool failing_ = false;  // the last step failed
};

}  // namespace millrace::cache::detail
