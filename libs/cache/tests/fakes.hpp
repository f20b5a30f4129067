#pragma once

// In-memory stand-ins for the cache's ports. FakeStore keeps the protocol's
// rules (store.hpp) as the Redis scripts do, so the invalidator and the
// readers are tested against them without a server.

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "invalidator.hpp"
#include "millrace/cache/store.hpp"
#include "millrace/core/failure.hpp"

namespace millrace::cache::testing {

struct FakeStore final : Store {
  std::map<std::string, Entry> entries;  // "<generation>:<key>"
  std::optional<std::int64_t> live;
  std::optional<std::string> owner;
  std::int64_t generations = 0;
  bool down = false;
  // Runs inside fill(), before it looks: lets a test slip a write in
  // between a reader's miss and its fill.
  std::function<void()> before_fill;
  std::vector<std::chrono::milliseconds> put_ttls;  // of each put(), in order

  void check() const {
    if (down) throw core::InfraError(core::FailureClass::kRetryable, "redis: connection refused");
  }
  static std::string at(std::int64_t generation, std::string_view key) {
    return std::to_string(generation) + ":" + std::string(key);
  }
  std::optional<Entry> entry(std::string_view key) const {
    if (!live) return std::nullopt;
    const auto it = entries.find(at(*live, key));
    if (it == entries.end()) return std::nullopt;
    return it->second;
  }

  Lookup lookup(std::string_view key) override {
    check();
    return {live, entry(key)};
  }
  bool fill(std::int64_t generation, std::string_view key, const Entry& e,
            std::chrono::milliseconds) override {
    check();
    if (before_fill) before_fill();
    if (live != generation) return false;
    return entries.emplace(at(generation, key), e).second;
  }
  bool acquire(std::string_view who, std::chrono::milliseconds) override {
    check();
    if (owner && *owner != who) return false;
    owner = std::string(who);
    return true;
  }
  std::int64_t new_generation() override {
    check();
    return ++generations;
  }
  std::size_t put(std::int64_t generation, const std::vector<std::pair<std::string, Entry>>& es,
                  std::chrono::milliseconds ttl) override {
    check();
    put_ttls.push_back(ttl);
    std::size_t written = 0;
    for (const auto& [key, e] : es) {
      auto& slot = entries[at(generation, key)];
      if (!slot.version.empty() && slot.version > e.version) continue;
      slot = e;
      ++written;
    }
    return written;
  }
  bool set_live(std::string_view who, std::int64_t generation, std::chrono::milliseconds) override {
    check();
    if (owner && *owner != who) return false;
    owner = std::string(who);
    live = generation;
    return true;
  }
  void withdraw(std::int64_t generation) override {
    check();
    if (live == generation) live.reset();
  }
  void release(std::string_view who) override {
    check();
    if (owner == who) owner.reset();
  }
};

// A change topic of one partition: records appended by the test, an end
// that moves with them, and a flag that makes Kafka unreachable.
struct FakeFeed final : detail::Feed {
  std::vector<detail::FeedRecord> log;
  std::int64_t position = -1;
  bool down = false;
  int starts = 0;

  void append(std::string value, std::optional<std::string> key = std::nullopt) {
    detail::FeedRecord r;
    r.offset = static_cast<std::int64_t>(log.size());
    r.value = std::move(value);
    r.key = std::move(key);
    log.push_back(std::move(r));
  }
  std::vector<kafka::TopicPartition> ends() override {
    if (down) throw core::InfraError(core::FailureClass::kRetryable, "kafka: timed out");
    return {{"changes", 0, static_cast<std::int64_t>(log.size())}};
  }
  void start_at(const std::vector<kafka::TopicPartition>& at) override {
    position = at.at(0).offset;
    ++starts;
  }
  std::optional<detail::FeedRecord> poll(std::chrono::milliseconds) override {
    if (down || position < 0 || position >= static_cast<std::int64_t>(log.size())) {
      return std::nullopt;
    }
    return log[static_cast<std::size_t>(position++)];
  }
  std::vector<kafka::TopicPartition> positions() override { return {{"changes", 0, position}}; }
};

// The database: rows by key and the snapshot text a load reports.
struct FakeTruth final : detail::Truth {
  std::map<std::string, std::string> categories, products, assets;  // key -> body
  std::string snapshot = "100:100:";
  bool down = false;
  int loads = 0;
  std::function<void()> during_load;

  detail::XidSnapshot load(const RowSink& row) override {
    if (down) throw core::InfraError(core::FailureClass::kRetryable, "postgres: refused");
    ++loads;
    if (during_load) during_load();
    for (const auto& [k, b] : categories) row(catalog::Table::kCategories, k, b);
    for (const auto& [k, b] : products) row(catalog::Table::kProducts, k, b);
    for (const auto& [k, b] : assets) row(catalog::Table::kAssets, k, b);
    return detail::XidSnapshot::parse(snapshot);
  }
};

}  // namespace millrace::cache::testing
