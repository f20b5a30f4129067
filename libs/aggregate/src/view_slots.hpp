#pragma once

// A declared view's slots in one batch (view_deltas.hpp): each key (a
// slot and the texts of its groups) with its additions, in an
// open-addressing table whose buckets hold each key's hash and where its
// bytes lie, one after another in one string: a row is matched with its
// slot by one probe and one comparison of bytes, without reaching its
// entry or copying or allocating anything. The store event folds each
// event into four views; an ordered map of group texts compared member by
// member cost the aggregator about 9 % of its CPU (docs/benchmarks.md,
// issue 79). The upsert orders its rows itself (upsert.hpp), so the order
// here, the order rows were first folded, is no one's concern.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/core/decimal.hpp"
#include "millrace/core/timestamp.hpp"
#include "upsert.hpp"

namespace millrace::aggregate::detail {

struct ViewKey {
  core::TimestampUs slot;  // pg::view_slot()'s, in UTC
  std::vector<std::string> groups;
  friend auto operator<=>(const ViewKey&, const ViewKey&) = default;
};

// A slot's additions: its rows, and per measure (in the view's order) the
// sum of its terms (sums and averages) or their extreme (minima, maxima).
struct ViewSums {
  std::int64_t rows = 0;
  std::vector<WideSum> sums;
  std::vector<core::Int128> extremes;
};

class ViewSlots {
 public:
  using Entry = std::pair<ViewKey, ViewSums>;

  // The sums of the key (`slot`, `groups`); a new key's are added, empty
  // (rows 0).
  ViewSums& find_or_add(core::TimestampUs slot, std::span<const std::string_view> groups);

  // The sums of `key`; throws std::out_of_range for a key never folded.
  const ViewSums& at(const ViewKey& key) const;

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // In the order the keys were first folded.
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }

 private:
  // An entry's place in the table: its key's hash and where its key's
  // bytes are, so that a row is told from another without reaching its
  // entry.
  struct Bucket {
    std::uint64_t hash = 0;
    std::uint32_t key_at = 0;
    std::uint32_t key_size = 0;
    std::uint32_t entry = 0;  // 0: empty, else the entry's index plus one
  };

  // A key as bytes into row_key_ (the slot, then each text after its
  // length), and their hash.
  std::uint64_t encode(core::TimestampUs slot, std::span<const std::string_view> groups) const;
  // The bucket of row_key_'s key, or the empty one where it goes.
  std::size_t position(std::uint64_t hash) const;
  void grow();

  std::vector<Entry> entries_;
  // Power-of-two sized, at most half full.
  std::vector<Bucket> buckets_;
  std::string keys_;             // every entry's key's bytes, one after another
  mutable std::string row_key_;  // the key looked up's bytes, reused
};

}  // namespace millrace::aggregate::detail
