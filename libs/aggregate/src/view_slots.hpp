#pragma once

// A declared view's slots in one batch (view_deltas.hpp): each key (a
// slot and the texts of its groups) with its additions, found by a hash
// of the row's key computed once, in an open-addressing table. A row
// whose slot exists is compared with it in place, as string views into
// its record: nothing is copied or allocated. The store event folds each
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

// The hash a key is found by (any function of the slot and the texts).
std::uint64_t view_key_hash(core::TimestampUs slot, std::span<const std::string_view> groups);

class ViewSlots {
 public:
  using Entry = std::pair<ViewKey, ViewSums>;

  // The sums of the key (`slot`, `groups`), whose view_key_hash() is
  // `hash`; a new key's are added, empty (rows 0).
  ViewSums& find_or_add(core::TimestampUs slot, std::span<const std::string_view> groups,
                        std::uint64_t hash);

  // The sums of `key`; throws std::out_of_range for a key never folded.
  const ViewSums& at(const ViewKey& key) const;

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // In the order the keys were first folded.
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }

 private:
  // The entry of a key, or where its index goes: index_'s position.
  std::size_t position(core::TimestampUs slot, std::span<const std::string_view> groups,
                       std::uint64_t hash) const;
  void grow();

  std::vector<Entry> entries_;
  std::vector<std::uint64_t> hashes_;  // entries_' own
  // Power-of-two sized, at most half full: 0 is empty, else an entry's
  // index plus one.
  std::vector<std::uint32_t> index_;
};

}  // namespace millrace::aggregate::detail
