#include "view_slots.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace millrace::aggregate::detail {

namespace {

constexpr std::uint64_t kSlotHashMultiplier = 0x9E3779B97F4A7C15ULL;

std::uint64_t slot_hash_mix(std::uint64_t h, std::uint64_t word) {
  h = (h ^ word) * kSlotHashMultiplier;
  return h ^ (h >> 29);
}

// A key's bytes, eight at a time.
std::uint64_t slot_hash_bytes(std::string_view bytes) {
  const char* p = bytes.data();
  std::size_t n = bytes.size();
  std::uint64_t h = n;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, 8);
    h = slot_hash_mix(h, word);
  }
  if (n > 0) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, n);
    h = slot_hash_mix(h, word);
  }
  return h;
}

template <typename T>
void append_key_bytes(std::string& out, T value) {
  char bytes[sizeof value];
  std::memcpy(bytes, &value, sizeof value);
  out.append(bytes, sizeof value);
}

}  // namespace

std::uint64_t ViewSlots::encode(core::TimestampUs slot,
                                std::span<const std::string_view> groups) const {
  row_key_.clear();
  append_key_bytes(row_key_, slot);
  for (const auto g : groups) {
    append_key_bytes(row_key_, static_cast<std::uint32_t>(g.size()));
    row_key_.append(g);
  }
  return slot_hash_bytes(row_key_);
}

std::size_t ViewSlots::position(std::uint64_t hash) const {
  const std::size_t mask = buckets_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const auto& b = buckets_[i];
    if (b.entry == 0) return i;
    if (b.hash == hash && b.key_size == row_key_.size() &&
        std::memcmp(keys_.data() + b.key_at, row_key_.data(), b.key_size) == 0) {
      return i;
    }
  }
}

void ViewSlots::grow() {
  std::vector<Bucket> old(std::max<std::size_t>(16, buckets_.size() * 2));
  old.swap(buckets_);
  const std::size_t mask = buckets_.size() - 1;
  for (const auto& b : old) {
    if (b.entry == 0) continue;
    auto i = b.hash & mask;
    while (buckets_[i].entry != 0) i = (i + 1) & mask;
    buckets_[i] = b;
  }
}

ViewSums& ViewSlots::find_or_add(core::TimestampUs slot, std::span<const std::string_view> groups) {
  const auto hash = encode(slot, groups);
  if (buckets_.empty()) grow();
  auto i = position(hash);
  if (buckets_[i].entry != 0) return entries_[buckets_[i].entry - 1].second;
  if ((entries_.size() + 1) * 2 > buckets_.size()) {
    grow();
    i = position(hash);
  }
  if (keys_.size() + row_key_.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error("a declared view's batch holds more than 4 GiB of group texts");
  }
  buckets_[i] = {hash, static_cast<std::uint32_t>(keys_.size()),
                 static_cast<std::uint32_t>(row_key_.size()),
                 static_cast<std::uint32_t>(entries_.size() + 1)};
  keys_ += row_key_;
  entries_.emplace_back(ViewKey{slot, std::vector<std::string>(groups.begin(), groups.end())},
                        ViewSums{});
  return entries_.back().second;
}

const ViewSums& ViewSlots::at(const ViewKey& key) const {
  if (!buckets_.empty()) {
    const std::vector<std::string_view> groups(key.groups.begin(), key.groups.end());
    const auto i = position(encode(key.slot, groups));
    if (buckets_[i].entry != 0) return entries_[buckets_[i].entry - 1].second;
  }
  throw std::out_of_range("no slot of this key was folded");
}

}  // namespace millrace::aggregate::detail
