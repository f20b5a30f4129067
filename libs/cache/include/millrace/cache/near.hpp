#pragma once

// millrace-api's near cache: the entries its workers read from Redis, held
// in the process's own memory, so that a hit costs no round trip and is
// answered on the event loop, without a worker.
//
// It stays equal to Redis through Redis' own client-side caching: a
// connection of its own runs CLIENT TRACKING in broadcast mode on the
// cache's prefix and hears of every write, expiry and flush of a key under
// it, and the entry held for that key is dropped. The rules
// (docs/cache.md, "The near cache"):
// - Nothing is held while that connection is not listening, and everything
//   is dropped when it is lost: at once when Redis closes it, and when it
//   goes quiet, once nothing has arrived for three PING intervals
//   (NearOptions::ping_every; checked at each PING, so within four).
// - A worker keeps what it read only if no change of the key arrived
//   between its asking and its keeping, so a change that raced the read is
//   never undone by it.
// - Entries are served only while the live mark is trusted: never past
//   its lease as the latest read found it (counted from before that read),
//   and not after Redis says the mark changed (each renewal does, so the
//   next request reads Redis again) until a read asked after that change
//   finds it again. A read that crossed a change of the mark keeps nothing
//   of another generation; of reads in flight together, the newer version
//   stays.
// - Redis refusing CLIENT TRACKING or SUBSCRIBE (before 6.0, an ACL
//   without them) turns the near cache off for the process's life, logged.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "millrace/cache/config.hpp"
#include "millrace/cache/read_probe.hpp"
#include "millrace/cache/store.hpp"
#include "millrace/catalog/reads.hpp"
#include "millrace/redis/client.hpp"

namespace millrace::cache {

struct NearOptions {
  std::size_t max_entries = 100'000;  // 0: hold nothing
  std::chrono::milliseconds ping_every{500};
  std::chrono::milliseconds retry_after{1000};  // after the connection is lost
};

namespace detail {
class NearMap;
struct Ticket;
}  // namespace detail

// Caller contract: thread-safe. `probe` must outlive it. The workers'
// CachedReads call ask() and keep() around each lookup.
class NearCache final : public catalog::Held {
 public:
  NearCache(redis::Endpoint endpoint, redis::ClientOptions client, std::string prefix,
            ReadProbe& probe, NearOptions options = {});
  ~NearCache() override;  // stop()s
  NearCache(const NearCache&) = delete;
  NearCache& operator=(const NearCache&) = delete;

  // Starts listening on a thread of its own; Redis need not be up yet.
  void start();
  void stop();  // idempotent

  // catalog::Held: counted as ReadResult::kHeld when held.
  std::optional<catalog::HeldBody> category(std::string_view name) const override;
  std::optional<std::string> categories() const override;
  std::optional<catalog::HeldBody> product(std::int64_t sku) const override;

  // The workers' side: before a lookup of `key` (an entry key of
  // change.hpp's), and with what it found. A ticket from a moment the cache
  // was not listening keeps nothing.
  detail::Ticket ask(std::string_view key);
  void keep(const detail::Ticket& ticket, const Lookup& found);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The near cache of millrace-api's readers, for the cache `store` names
// (its URL, timeouts and prefix, for `schema`).
std::unique_ptr<NearCache> make_near_cache(const StoreOptions& store, const std::string& schema,
                                           ReadProbe& probe, std::size_t max_entries);

// What an invalidation message's key is to the near cache of `prefix`.
namespace detail {
struct NearKey {
  enum class Kind : std::uint8_t { kEntry, kLive, kOther };
  Kind kind = Kind::kOther;
  std::string_view entry;  // kEntry: the key within its generation
};
NearKey near_key(std::string_view prefix, std::string_view full_key);
}  // namespace detail

}  // namespace millrace::cache
