#include "view_slots.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace millrace::aggregate::detail {

namespace {

constexpr std::uint64_t kSlotHashMultiplier = 0x9E3779B97F4A7C15ULL;

std::uint64_t slot_hash_mix(std::uint64_t h, std::uint64_t word) {
  h = (h ^ word) * kSlotHashMultiplier;
  return h ^ (h >> 29);
}

// Groups are short texts (a category, a type, an integer's digits): eight
// bytes at a time.
std::uint64_t slot_hash_text(std::uint64_t h, std::string_view text) {
  const char* p = text.data();
  std::size_t n = text.size();
  h = slot_hash_mix(h, n);
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

bool same_key(const ViewKey& key, core::TimestampUs slot,
              std::span<const std::string_view> groups) {
  return key.slot == slot && key.groups.size() == groups.size() &&
         std::equal(groups.begin(), groups.end(), key.groups.begin());
}

}  // namespace

std::uint64_t view_key_hash(core::TimestampUs slot, std::span<const std::string_view> groups) {
  auto h = slot_hash_mix(0, static_cast<std::uint64_t>(slot));
  for (const auto g : groups) h = slot_hash_text(h, g);
  return h;
}

std::size_t ViewSlots::position(core::TimestampUs slot, std::span<const std::string_view> groups,
                                std::uint64_t hash) const {
  const std::size_t mask = index_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const auto e = index_[i];
    if (e == 0) return i;
    if (hashes_[e - 1] == hash && same_key(entries_[e - 1].first, slot, groups)) return i;
  }
}

void ViewSlots::grow() {
  index_.assign(std::max<std::size_t>(16, index_.size() * 2), 0);
  const std::size_t mask = index_.size() - 1;
  for (std::size_t e = 0; e < entries_.size(); ++e) {
    auto i = hashes_[e] & mask;
    while (index_[i] != 0) i = (i + 1) & mask;
    index_[i] = static_cast<std::uint32_t>(e + 1);
  }
}

ViewSums& ViewSlots::find_or_add(core::TimestampUs slot, std::span<const std::string_view> groups,
                                 std::uint64_t hash) {
  if (index_.empty()) grow();
  auto i = position(slot, groups, hash);
  if (index_[i] != 0) return entries_[index_[i] - 1].second;
  if ((entries_.size() + 1) * 2 > index_.size()) {
    grow();
    i = position(slot, groups, hash);
  }
  entries_.emplace_back(ViewKey{slot, std::vector<std::string>(groups.begin(), groups.end())},
                        ViewSums{});
  hashes_.push_back(hash);
  index_[i] = static_cast<std::uint32_t>(entries_.size());
  return entries_.back().second;
}

const ViewSums& ViewSlots::at(const ViewKey& key) const {
  const std::vector<std::string_view> groups(key.groups.begin(), key.groups.end());
  if (!index_.empty()) {
    const auto i = position(key.slot, groups, view_key_hash(key.slot, groups));
    if (index_[i] != 0) return entries_[index_[i] - 1].second;
  }
  throw std::out_of_range("no slot of this key was folded");
}

}  // namespace millrace::aggregate::detail
