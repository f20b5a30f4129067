#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace millrace::changefeed {

// A position in PostgreSQL's write-ahead log (XLogRecPtr). 0 is "invalid",
// which START_REPLICATION takes as "where the slot is".
using Lsn = std::uint64_t;

// PostgreSQL's text form: two hexadecimal halves, "16/B374D848".
std::string format_lsn(Lsn lsn);
// The same text appended to `out`, without a string of its own.
void append_lsn(std::string& out, Lsn lsn);
// The inverse of format_lsn; nullopt unless `text` is exactly that form
// (upper or lower case hex, each half 1 to 8 digits).
std::optional<Lsn> parse_lsn(std::string_view text);

// PostgreSQL's timestamps on the wire count microseconds from 2000-01-01
// UTC; these convert to and from the Unix epoch.
inline constexpr std::int64_t kPgEpochOffsetUs = 946'684'800'000'000;
// Both saturate at the int64 limits instead of overflowing: a timestamp
// near them (PostgreSQL's 'infinity' is INT64_MAX, and a corrupt stream may
// carry anything) stays at the limit (found by fuzz/pgoutput_fuzz.cpp).
constexpr std::int64_t unix_us_from_pg(std::int64_t pg_us) {
  return pg_us > INT64_MAX - kPgEpochOffsetUs ? INT64_MAX : pg_us + kPgEpochOffsetUs;
}
constexpr std::int64_t pg_us_from_unix(std::int64_t unix_us) {
  return unix_us < INT64_MIN + kPgEpochOffsetUs ? INT64_MIN : unix_us - kPgEpochOffsetUs;
}

}  // namespace millrace::changefeed
