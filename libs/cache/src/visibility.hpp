#pragma once

// Which transactions a PostgreSQL snapshot saw: whether a change the feed
// delivers is already in the rows a rebuild loaded (then it is skipped) or
// came after (then it is applied). Pure.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace millrace::cache::detail {

class XidSnapshot {
 public:
  // pg_current_snapshot()'s text, "xmin:xmax:xip,xip,..." (64-bit xids).
  static std::optional<XidSnapshot> parse(std::string_view text);

  // Whether the committed transaction `xid` (32-bit, as the change feed
  // carries it from pgoutput) committed before the snapshot: below xmin, or
  // below xmax and not in progress then. Compared modulo 2^32 as PostgreSQL
  // does, which holds while the two are within 2^31 transactions of each
  // other (PostgreSQL's own wraparound limit).
  bool saw(std::uint32_t xid) const;

 private:
  std::uint32_t xmin_ = 0;
  std::uint32_t xmax_ = 0;
  std::vector<std::uint32_t> in_progress_;
};

}  // namespace millrace::cache::detail
