#pragma once

// Readers of PostgreSQL's text output, the form pgoutput sends every column
// in (the feed never asks for binary). Each takes the server's own output
// for its type under the settings a replication session has by default
// (DateStyle ISO, IntervalStyle postgres, bytea_output hex, extra_float_digits
// 1) and returns nullopt for anything else, including the special values
// (NaN, infinity), which the callers handle by name.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::changefeed::pgtext {

// RFC 8259's number grammar. PostgreSQL's text for integers, numeric and
// finite floats fits it; NaN and Infinity do not.
bool is_json_number(std::string_view s);

// "2024-06-01", "0044-03-15 BC": days since 1970-01-01.
std::optional<std::int64_t> date_days(std::string_view s);
// "06:34:00", "06:34:00.123456", "24:00:00": microseconds since midnight.
std::optional<std::int64_t> time_us(std::string_view s);
// "2024-06-01 06:34:00.000001" (and " BC"): microseconds since 1970-01-01
// 00:00, the wall-clock time read as if it were UTC.
std::optional<std::int64_t> timestamp_us(std::string_view s);
// The same followed by an offset ("+00", "-08", "+05:30", "+05:53:28"):
// microseconds since the Unix epoch.
std::optional<std::int64_t> timestamptz_us(std::string_view s);
// "06:34:00.5+02": the time of day in UTC, in [0, 24 h) microseconds.
std::optional<std::int64_t> timetz_utc_us(std::string_view s);

// An interval's three parts, as PostgreSQL keeps them.
struct Interval {
  std::int64_t years = 0;
  std::int64_t months = 0;
  std::int64_t days = 0;
  std::int64_t hours = 0;
  std::int64_t minutes = 0;
  std::int64_t seconds = 0;  // whole seconds
  std::int64_t micros = 0;   // the fraction, with the seconds' sign
};
// "1 year 2 mons 3 days 04:05:06.789", "-1 days +02:00:00", "00:00:00".
std::optional<Interval> interval(std::string_view s);

// "\x00ff10" (bytea_output hex): the bytes.
std::optional<std::string> bytea(std::string_view s);

// A one-dimensional array literal: "{1,NULL,3}", "{\"y z\",x}". Each
// element's text, or nullopt for NULL. Nullopt for a nested array or a
// malformed literal.
std::optional<std::vector<std::optional<std::string>>> array(std::string_view s);

// A finite numeric's digits: "-12.3400" is negative, digits "123400",
// scale 4. Nullopt for NaN, infinities and anything else.
struct Numeric {
  bool negative = false;
  std::string digits;  // at least one; leading zeros kept as written
  int scale = 0;       // digits after the point
};
std::optional<Numeric> numeric(std::string_view s);
// Drops fractional trailing zeros: 1.50 -> 1.5, 100 -> 100, 0.000 -> 0.
void strip_trailing_zeros(Numeric& n);
// Sets the scale to `scale`, padding zeros or rounding half away from zero.
void rescale(Numeric& n, int scale);
// The unscaled value as Java's BigInteger.toByteArray writes it: big-endian
// two's complement, in the fewest bytes that keep the sign (0 is one 0x00).
std::string unscaled_bytes(const Numeric& n);

}  // namespace millrace::changefeed::pgtext
