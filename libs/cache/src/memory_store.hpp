#pragma once

// store.hpp's protocol in this process's memory, keeping only what the
// sink's enrichment reads: each product's facts, and each asset's. One generation is built
// while the previous stays readable, and becomes the one read when set
// live; withdrawing leaves the lookup unusable until then. Thread-safe:
// the invalidator's thread writes, any thread reads.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "millrace/cache/lookup.hpp"
#include "millrace/cache/store.hpp"

namespace millrace::cache::detail {

// The facts of a product body (catalog/json.hpp's); nullopt when the body
// is not one.
std::optional<ProductFacts> product_facts(std::string_view body);
// The facts of an asset body (catalog::asset_json); nullopt when the body
// is not one.
std::optional<AssetFacts> asset_facts(std::string_view body);

class MemoryStore final : public Store {
 public:
  bool ready() const { return ready_.load(); }
  bool wait_ready(std::chrono::milliseconds timeout) const;
  std::optional<ProductFacts> product(std::int64_t sku) const;
  std::optional<AssetFacts> asset(std::string_view symbol) const;
  std::int64_t live_generation() const;

  // Store. Readers' operations are not used in memory.
  Lookup lookup(std::string_view key) override;
  bool fill(std::int64_t generation, std::string_view key, const Entry& entry,
            std::chrono::milliseconds ttl) override;
  bool acquire(std::string_view owner, std::chrono::milliseconds lease) override;
  std::int64_t new_generation() override;
  std::size_t put(std::int64_t generation,
                  const std::vector<std::pair<std::string, Entry>>& entries,
                  std::chrono::milliseconds ttl) override;
  bool set_live(std::string_view owner, std::int64_t generation,
                std::chrono::milliseconds lease) override;
  void withdraw(std::int64_t generation) override;
  void release(std::string_view owner) override;

 private:
  template <typename Facts>
  struct Versioned {
    std::string version;
    std::optional<Facts> facts;  // nullopt: deleted
  };
  // What one generation holds.
  struct Rows {
    std::unordered_map<std::int64_t, Versioned<ProductFacts>> products;
    std::unordered_map<std::string, Versioned<AssetFacts>> assets;
  };

  mutable std::shared_mutex mutex_;
  std::int64_t generations_ = 0;
  std::int64_t building_ = 0;  // the generation being loaded
  Rows next_;                  // its rows
  std::int64_t live_ = 0;
  Rows live_rows_;  // the live generation's
  std::atomic<bool> ready_{false};
  mutable std::mutex ready_mutex_;
  mutable std::condition_variable ready_cv_;
};

}  // namespace millrace::cache::detail
