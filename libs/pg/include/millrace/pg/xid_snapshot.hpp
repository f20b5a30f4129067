#pragma once

// Which transactions a PostgreSQL snapshot saw, for the 32-bit transaction
// ids the change feed carries (pgoutput's Begin, a change record's
// source.xid): whether a change is already in the rows a read under that
// snapshot returned. The change feed's backfills, the cache's rebuilds and
// the API's live stream ask it. Pure.

#include <cstdint>
#include <string_view>
#include <vector>

namespace millrace::pg {

// a precedes b, modulo 2^32 (PostgreSQL's TransactionIdPrecedes): holds
// while the two are within 2^31 transactions of each other, PostgreSQL's
// own wraparound limit.
constexpr bool xid_precedes(std::uint32_t a, std::uint32_t b) {
  return static_cast<std::int32_t>(a - b) < 0;
}

struct XidSnapshot {
  std::uint32_t xmin = 0;
  std::uint32_t xmax = 0;
  std::vector<std::uint32_t> in_progress;

  // pg_current_snapshot()'s text, "xmin:xmax:xip,xip,..." (xid8 values;
  // the epoch is dropped). Throws std::invalid_argument naming the text.
  static XidSnapshot parse(std::string_view text);

  // True when the committed transaction `xid` had committed when the
  // snapshot was taken: below xmax and not in progress then. (For a
  // transaction that never committed it says nothing: the change feed
  // carries committed ones only.)
  bool saw(std::uint32_t xid) const;
};

}  // namespace millrace::pg
