#pragma once

// The catalog cache's storage protocol, as a port: Redis implements it
// (make_redis_store), tests use an in-memory fake. Its rules are what keep
// the cache from ever serving an older value over a newer one:
//
// - Entries live in a generation. Only the generation named by the `live`
//   mark is trusted; the invalidator sets that mark once it has loaded the
//   generation from the database, renews it as a lease while it follows the
//   change feed, and withdraws it when it loses the feed or the store. A
//   reader that finds no live generation reads the database instead.
// - An entry carries a version: the id of the change it reflects (24 hex
//   digits: commit LSN and position, proto/change.schema.json), or
//   kLoadedVersion for a row read from the database. A put() never
//   replaces an entry of a higher version, so a slow or replaying writer
//   cannot put an older change over a newer one.
// - A reader's fill (after a miss) only ever creates an entry that is
//   absent: it never overwrites what the invalidator wrote.
// - A deleted or unknown key is an entry without a body (a tombstone), so
//   a slow fill cannot bring a deleted row back either.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace millrace::cache {

// Sorts below every change id: a loaded row yields to any change.
inline constexpr std::string_view kLoadedVersion = "0";

struct Entry {
  std::string version;
  std::optional<std::string> body;  // nullopt: known absent (a tombstone)

  friend bool operator==(const Entry&, const Entry&) = default;
};

struct Lookup {
  std::optional<std::int64_t> generation;  // nullopt: nothing is trusted now
  std::optional<Entry> entry;              // absent from the live generation
  // What the live mark's lease had left when it was read (0: unknown). A
  // copy of the entry may be trusted that long, counted from before the
  // lookup was sent, unless the store says the mark changed (near.hpp).
  std::chrono::milliseconds live_for{0};
};

// Caller contract: one thread at a time. Every call may throw
// core::InfraError (retryable) when the store cannot be reached; the store
// is then in an unknown state as far as the caller knows.
class Store {
 public:
  virtual ~Store() = default;

  // --- readers (millrace-api) ---
  // The live generation and `key`'s entry in it, read together.
  virtual Lookup lookup(std::string_view key) = 0;
  // Creates `key` in `generation` if it is still live and the key is
  // absent; true when written.
  virtual bool fill(std::int64_t generation, std::string_view key, const Entry& entry,
                    std::chrono::milliseconds ttl) = 0;

  // --- the invalidator ---
  // Takes (or keeps) the right to invalidate: one invalidator per cache.
  // True when `owner` holds it now, for `lease`.
  virtual bool acquire(std::string_view owner, std::chrono::milliseconds lease) = 0;
  // A generation no one has used.
  virtual std::int64_t new_generation() = 0;
  // Writes each entry unless the stored one has a higher version. One round
  // trip for the lot. Returns how many were written.
  virtual std::size_t put(std::int64_t generation,
                          const std::vector<std::pair<std::string, Entry>>& entries,
                          std::chrono::milliseconds ttl) = 0;
  // Marks `generation` live for `lease` (setting or renewing), if `owner`
  // still holds the right to invalidate, or no one does (renewing or taking
  // it back). False when another invalidator holds it.
  virtual bool set_live(std::string_view owner, std::int64_t generation,
                        std::chrono::milliseconds lease) = 0;
  // Withdraws the live mark if it names `generation`: readers go to the
  // database until a generation is live again.
  virtual void withdraw(std::int64_t generation) = 0;
  // Gives up the right to invalidate if `owner` holds it (a clean stop).
  virtual void release(std::string_view owner) = 0;
};

}  // namespace millrace::cache
