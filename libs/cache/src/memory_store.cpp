#include "memory_store.hpp"

#include <rapidjson/document.h>

#include <charconv>

namespace millrace::cache::detail {

namespace {

std::optional<std::int64_t> product_sku(std::string_view key) {
  constexpr std::string_view kPrefix = "product:";
  if (!key.starts_with(kPrefix)) return std::nullopt;
  key.remove_prefix(kPrefix.size());
  std::int64_t sku = 0;
  const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), sku);
  if (ec != std::errc() || end != key.data() + key.size()) return std::nullopt;
  return sku;
}

}  // namespace

std::optional<ProductFacts> product_facts(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  const auto text = [&](const char* name) -> std::optional<std::string> {
    const rapidjson::Value& root = doc;  // const: clang 14 finds == ambiguous otherwise
    const auto it = root.FindMember(name);
    if (it == root.MemberEnd() || !it->value.IsString()) return std::nullopt;
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  auto name = text("name");
  auto category = text("category");
  if (!name || !category) return std::nullopt;
  return ProductFacts{std::move(*name), text("brand"), std::move(*category)};
}

bool MemoryStore::wait_ready(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(ready_mutex_);
  return ready_cv_.wait_for(lock, timeout, [&] { return ready_.load(); });
}

std::optional<ProductFacts> MemoryStore::product(std::int64_t sku) const {
  std::shared_lock lock(mutex_);
  const auto it = products_.find(sku);
  if (it == products_.end()) return std::nullopt;
  return it->second.facts;
}

std::int64_t MemoryStore::live_generation() const {
  std::shared_lock lock(mutex_);
  return live_;
}

Lookup MemoryStore::lookup(std::string_view) {
  return {};
}

bool MemoryStore::fill(std::int64_t, std::string_view, const Entry&, std::chrono::milliseconds) {
  return false;
}

bool MemoryStore::acquire(std::string_view, std::chrono::milliseconds) {
  return true;  // this process's memory has one invalidator
}

std::int64_t MemoryStore::new_generation() {
  std::unique_lock lock(mutex_);
  building_ = ++generations_;
  next_.clear();
  return building_;
}

std::size_t MemoryStore::put(std::int64_t generation,
                             const std::vector<std::pair<std::string, Entry>>& entries,
                             std::chrono::milliseconds) {
  std::unique_lock lock(mutex_);
  Products* products = generation == live_       ? &products_
                       : generation == building_ ? &next_
                                                 : nullptr;
  if (products == nullptr) return 0;
  std::size_t written = 0;
  for (const auto& [key, entry] : entries) {
    const auto sku = product_sku(key);
    if (!sku) continue;  // categories: enrichment reads products only
    auto& slot = (*products)[*sku];
    if (!slot.version.empty() && slot.version > entry.version) continue;
    slot.version = entry.version;
    slot.facts = entry.body ? product_facts(*entry.body) : std::nullopt;
    ++written;
  }
  return written;
}

bool MemoryStore::set_live(std::string_view, std::int64_t generation, std::chrono::milliseconds) {
  {
    std::unique_lock lock(mutex_);
    if (generation == building_ && generation != live_) {
      products_ = std::move(next_);
      next_.clear();
      live_ = generation;
    } else if (generation != live_) {
      return false;
    }
  }
  {
    std::lock_guard lock(ready_mutex_);
    ready_ = true;
  }
  ready_cv_.notify_all();
  return true;
}

void MemoryStore::withdraw(std::int64_t generation) {
  std::shared_lock lock(mutex_);
  if (generation == live_) ready_ = false;
}

void MemoryStore::release(std::string_view) {
  ready_ = false;
}

}  // namespace millrace::cache::detail
