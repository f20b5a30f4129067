#pragma once

// The catalog read through the cache (millrace-api's workers): a
// catalog::Reads that wraps the database's. A hit is served as stored; a
// miss reads the database and fills the entry (only if still absent, see
// store.hpp); with nothing trusted in the store, or the store unreachable,
// reads go to the database. So the answers are the database's whatever
// state the cache is in, only faster when it is trusted.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "millrace/cache/config.hpp"
#include "millrace/cache/near.hpp"
#include "millrace/cache/read_probe.hpp"
#include "millrace/cache/store.hpp"
#include "millrace/catalog/reads.hpp"

namespace millrace::cache {

struct ReadOptions {
  std::chrono::milliseconds ttl{3'600'000};  // of an entry a miss fills
  // After the store failed, reads skip it for this long (a Redis that is
  // down costs one failed attempt per period, not one per request).
  std::chrono::milliseconds retry_after{1000};
};

// Caller contract: like every catalog::Reads, one thread at a time. The
// probe, and the near cache when given, must outlive it (the API's workers
// share both). With a near cache, what each lookup finds is offered to it
// (near.hpp says what it keeps).
class CachedReads final : public catalog::Reads {
 public:
  CachedReads(std::unique_ptr<catalog::Reads> database, std::unique_ptr<Store> store,
              ReadProbe& probe, ReadOptions options = {}, NearCache* near = nullptr);

  std::optional<std::string> category(std::string_view name) override;
  std::string categories() override;
  std::optional<std::string> product(std::int64_t sku) override;

 private:
  template <typename Load>
  std::optional<std::string> through(const std::string& key, ReadKind kind, Load&& load);

  std::unique_ptr<catalog::Reads> database_;
  std::unique_ptr<Store> store_;
  ReadProbe& probe_;
  ReadOptions options_;
  NearCache* near_;
  std::chrono::steady_clock::time_point skip_store_until_{};
};

// What millrace-api's workers are given (api::ReadsFactory): each call
// wraps one worker's database reads in a CachedReads with a Redis
// connection of its own (connected lazily: the API starts while Redis is
// down). `probe` and `near` (may be null) must outlive every object made.
std::function<std::unique_ptr<catalog::Reads>(std::unique_ptr<catalog::Reads>)> reads_factory(
    const StoreOptions& store, const std::string& schema, ReadProbe& probe,
    NearCache* near = nullptr);

}  // namespace millrace::cache
