#include "millrace/core/timestamp.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace millrace::core {
namespace {

constexpr std::int64_t kUsPerSecond = 1'000'000;
constexpr std::int64_t kSecondsPerDay = 86'400;
constexpr std::int64_t kUsPerDay = kSecondsPerDay * kUsPerSecond;

// Howard Hinnant's days_from_civil: proleptic Gregorian date -> days since
// 1970-01-01, exact for all years without tables or the C library's timezone.
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

// The inverse, civil_from_days, from the same paper.
constexpr Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2 ? 1 : 0), m, d};
}

static_assert(days_from_civil(1970, 1, 1) == 0);
// 10000-01-01T00:00:00Z in seconds: the first instant past the range.
constexpr std::int64_t kEndOfYear9999 = days_from_civil(10000, 1, 1) * kSecondsPerDay;
static_assert(days_from_civil(2000, 3, 1) == 11017);
static_assert(civil_from_days(11017).year == 2000 && civil_from_days(11017).month == 3);

constexpr bool is_leap(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr unsigned days_in_month(std::int64_t y, unsigned m) {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `count` digits at text[pos]; the grammar has only fixed-width
// fields, so no sign or length ambiguity can arise.
bool read_digits(std::string_view text, std::size_t pos, std::size_t count, unsigned& out) {
  if (pos + count > text.size()) return false;
  unsigned value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  out = value;
  return true;
}

// Microseconds of a fraction of a second given by its digits (1 to 9),
// rounded as PostgreSQL rounds them: the fraction as the nearest double,
// times 10^6, to the nearest integer, ties to even (strtod and rint in its
// datetime.c). So 0.0000005 is 0 and 0.9999995 is 1,000,000 (a carry into
// the next second): equal to what ::timestamptz stores for the same text.
std::int64_t round_fraction(std::string_view digits) {
  char text[16] = {'0', '.'};
  for (std::size_t i = 0; i < digits.size(); ++i) text[2 + i] = digits[i];
  double fraction = 0;
  std::from_chars(text, text + 2 + digits.size(), fraction);
  return static_cast<std::int64_t>(std::nearbyint(fraction * 1'000'000));
}

void put_digits(char*& p, std::uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  p += width;
}

}  // namespace

std::optional<TimestampUs> parse_timestamp(std::string_view text) {
  // YYYY-MM-DD[T ]hh:mm:ss
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (text.size() < 19) return std::nullopt;
  if (!read_digits(text, 0, 4, year) || text[4] != '-' || !read_digits(text, 5, 2, month) ||
      text[7] != '-' || !read_digits(text, 8, 2, day)) {
    return std::nullopt;
  }
  const char sep = text[10];
  if (sep != 'T' && sep != 't' && sep != ' ') return std::nullopt;
  if (!read_digits(text, 11, 2, hour) || text[13] != ':' || !read_digits(text, 14, 2, minute) ||
      text[16] != ':' || !read_digits(text, 17, 2, second)) {
    return std::nullopt;
  }
  if (year < 1970 || year > 9999 || month < 1 || month > 12 || day < 1 ||
      day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }

  std::size_t pos = 19;
  std::int64_t micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    const std::size_t first = ++pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    const std::size_t digits = pos - first;
    if (digits < 1 || digits > 9) return std::nullopt;
    micros = round_fraction(text.substr(first, digits));
  }

  std::int64_t offset_seconds = 0;
  if (pos < text.size()) {
    const char c = text[pos];
    if (c == 'Z' || c == 'z') {
      ++pos;
    } else if (c == '+' || c == '-') {
      unsigned oh = 0, om = 0;
      if (!read_digits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
          !read_digits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
        return std::nullopt;
      }
      offset_seconds = (static_cast<std::int64_t>(oh) * 60 + om) * 60;
      if (c == '-') offset_seconds = -offset_seconds;
      pos += 6;
    } else {
      return std::nullopt;
    }
  }
  if (pos != text.size()) return std::nullopt;

  const std::int64_t days = days_from_civil(year, month, day);
  // Local time minus its offset is UTC: 14:00+05:30 is 08:30Z.
  const std::int64_t seconds =
      days * kSecondsPerDay + hour * 3600 + minute * 60 + second - offset_seconds;
  // The range holds for the instant, not only for the local time written:
  // 1970-01-01T00:30:00+01:00 is in 1969 and 9999-12-31T23:30:00-01:00 in
  // year 10000 (found by fuzz/number_fuzz.cpp: such a time printed as a year
  // the parser refuses).
  // Rounding may carry into the next second, hence the check on the sum.
  const std::int64_t us = seconds * kUsPerSecond + micros;
  if (us < 0 || us >= kEndOfYear9999 * kUsPerSecond) return std::nullopt;
  return us;
}

std::string format_timestamp(TimestampUs ts) {
  char buf[kTimestampTextMax];
  return std::string(buf, format_timestamp_to(buf, ts));
}

char* format_timestamp_to(char* out, TimestampUs ts) {
  // Floor division so instants before the epoch still print a valid time.
  std::int64_t days = ts / kUsPerDay;
  std::int64_t rem = ts % kUsPerDay;
  if (rem < 0) {
    rem += kUsPerDay;
    --days;
  }
  const Civil civil = civil_from_days(days);
  const std::int64_t secs = rem / kUsPerSecond;
  const std::int64_t micros = rem % kUsPerSecond;

  char* p = out;
  std::int64_t year = civil.year;
  if (year < 0) {
    *p++ = '-';
    year = -year;
  }
  int year_width = 4;
  for (std::int64_t y = year; y >= 10000; y /= 10) ++year_width;
  put_digits(p, static_cast<std::uint64_t>(year), year_width);
  *p++ = '-';
  put_digits(p, civil.month, 2);
  *p++ = '-';
  put_digits(p, civil.day, 2);
  *p++ = 'T';
  put_digits(p, static_cast<std::uint64_t>(secs / 3600), 2);
  *p++ = ':';
  put_digits(p, static_cast<std::uint64_t>(secs / 60 % 60), 2);
  *p++ = ':';
  put_digits(p, static_cast<std::uint64_t>(secs % 60), 2);
  *p++ = '.';
  put_digits(p, static_cast<std::uint64_t>(micros), 6);
  *p++ = 'Z';
  return p;
}

}  // namespace millrace::core
