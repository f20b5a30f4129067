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

// A body's string members (absent, null or not a string: nullopt); none
// when it is not a JSON object.
class BodyText {
 public:
  explicit BodyText(std::string_view body) { doc_.Parse(body.data(), body.size()); }
  bool object() const { return !doc_.HasParseError() && doc_.IsObject(); }
  std::optional<std::string> operator()(const char* name) const {
    const rapidjson::Value& root = doc_;  // const: clang 14 finds == ambiguous otherwise
    const auto it = root.FindMember(name);
    if (it == root.MemberEnd() || !it->value.IsString()) return std::nullopt;
    return std::string(it->value.GetString(), it->value.GetStringLength());
  }

 private:
  rapidjson::Document doc_;
};

}  // namespace

std::optional<AssetFacts> asset_facts(std::string_view body) {
  const BodyText text(body);
  if (!text.object() || !text("symbol")) return std::nullopt;
  return AssetFacts{text("description"), text("type"), text("currency")};
}

std::optional<ProductFacts> product_facts(std::string_view body) {
  const BodyText text(body);
  if (!text.object()) return std::nullopt;
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
  const auto it = live_rows_.products.find(sku);
  if (it == live_rows_.products.end()) return std::nullopt;
  return it->second.facts;
}

std::optional<AssetFacts> MemoryStore::asset(std::string_view symbol) const {
  std::shared_lock lock(mutex_);
  const auto it = live_rows_.assets.find(std::string(symbol));
  if (it == live_rows_.assets.end()) return std::nullopt;
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
  next_ = {};
  return building_;
}

std::size_t MemoryStore::put(std::int64_t generation,
                             const std::vector<std::pair<std::string, Entry>>& entries,
                             std::chrono::milliseconds) {
  std::unique_lock lock(mutex_);
  Rows* rows = generation == live_ ? &live_rows_ : generation == building_ ? &next_ : nullptr;
  if (rows == nullptr) return 0;
  std::size_t written = 0;
  // A version lower than the one held is an older change: kept out.
  const auto write = [&](auto& slot, const Entry& entry, auto facts) {
    if (!slot.version.empty() && slot.version > entry.version) return;
    slot.version = entry.version;
    slot.facts = entry.body ? facts(*entry.body) : std::nullopt;
    ++written;
  };
  constexpr std::string_view kAssetPrefix = "asset:";
  for (const auto& [key, entry] : entries) {
    if (const auto sku = product_sku(key)) {
      write(rows->products[*sku], entry, product_facts);
    } else if (key.starts_with(kAssetPrefix)) {
      write(rows->assets[key.substr(kAssetPrefix.size())], entry, asset_facts);
    }
    // categories: enrichment reads products and assets only
  }
  return written;
}

bool MemoryStore::set_live(std::string_view, std::int64_t generation, std::chrono::milliseconds) {
  {
    std::unique_lock lock(mutex_);
    if (generation == building_ && generation != live_) {
      live_rows_ = std::move(next_);
      next_ = {};
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
