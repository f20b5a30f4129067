#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace millrace::core {

// Microseconds since the Unix epoch, UTC.
using TimestampUs = std::int64_t;

// Parses an ISO-8601 / RFC 3339 timestamp: "2023-05-19T14:36:09.985501",
// optional fraction of 1..9 digits (rounded to microseconds exactly as PostgreSQL
// rounds them, so ::timestamptz of the same text is equal), optional "Z" or
// "+hh:mm"/"-hh:mm" offset; a space may replace the 'T'. Without an offset the
// time is UTC. Rejects impossible dates (Feb 30, hour 24, ...) and instants
// outside 1970-01-01T00:00:00Z..9999-12-31T23:59:59.999999Z, judged after
// the offset (1970-01-01T00:30:00+01:00 is refused: it is in 1969).
std::optional<TimestampUs> parse_timestamp(std::string_view text);

// "2023-05-19T14:36:09.985501Z": always six fraction digits and a Z, which
// PostgreSQL reads as timestamptz without depending on the session TimeZone.
std::string format_timestamp(TimestampUs ts);
// The same text written into `out`, which holds kTimestampTextMax bytes,
// without allocating (a row's COPY text); returns its end.
inline constexpr std::size_t kTimestampTextMax = 40;
char* format_timestamp_to(char* out, TimestampUs ts);

}  // namespace millrace::core
