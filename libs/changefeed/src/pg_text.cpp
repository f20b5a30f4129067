#include "pg_text.hpp"

#include <algorithm>

namespace millrace::changefeed::pgtext {

namespace {

constexpr std::int64_t kUsPerSecond = 1'000'000;
constexpr std::int64_t kUsPerDay = 86'400 * kUsPerSecond;

bool digits(std::string_view s, std::size_t& i) {
  const std::size_t start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  return i > start;
}

// Exactly `n` digits at `i`.
std::optional<std::int64_t> fixed(std::string_view s, std::size_t& i, std::size_t n) {
  if (i + n > s.size()) return std::nullopt;
  std::int64_t v = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const char c = s[i + k];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  i += n;
  return v;
}

// One or more digits at `i`.
std::optional<std::int64_t> number(std::string_view s, std::size_t& i) {
  const std::size_t start = i;
  if (!digits(s, i) || i - start > 18) return std::nullopt;
  std::int64_t v = 0;
  for (std::size_t k = start; k < i; ++k) v = v * 10 + (s[k] - '0');
  return v;
}

// A fraction of a second after '.', as microseconds (PostgreSQL prints at
// most six digits).
std::optional<std::int64_t> fraction_us(std::string_view s, std::size_t& i) {
  if (i >= s.size() || s[i] != '.') return 0;
  ++i;
  const std::size_t start = i;
  if (!digits(s, i) || i - start > 6) return std::nullopt;
  std::int64_t v = 0;
  for (std::size_t k = start; k < start + 6; ++k) v = v * 10 + (k < i ? s[k] - '0' : 0);
  return v;
}

// Howard Hinnant's days_from_civil: days since 1970-01-01 of a proleptic
// Gregorian date.
std::int64_t days_from_civil(std::int64_t y, std::int64_t m, std::int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// "YYYY-MM-DD" at `i` (four or more year digits); the year as written.
bool date_part(std::string_view s, std::size_t& i, std::int64_t& y, std::int64_t& m,
               std::int64_t& d) {
  const std::size_t start = i;
  if (!digits(s, i) || i - start < 4 || i - start > 9) return false;
  y = 0;
  for (std::size_t k = start; k < i; ++k) y = y * 10 + (s[k] - '0');
  if (i >= s.size() || s[i] != '-') return false;
  ++i;
  const auto mm = fixed(s, i, 2);
  if (!mm || i >= s.size() || s[i] != '-') return false;
  ++i;
  const auto dd = fixed(s, i, 2);
  if (!dd || *mm < 1 || *mm > 12 || *dd < 1 || *dd > 31) return false;
  m = *mm;
  d = *dd;
  return true;
}

// "HH:MM:SS[.ffffff]" at `i`: microseconds since midnight (24:00:00
// allowed). An interval's hours (`interval`) may have more digits.
std::optional<std::int64_t> time_part(std::string_view s, std::size_t& i, bool interval = false) {
  const auto h = interval ? number(s, i) : fixed(s, i, 2);
  if (!h || i >= s.size() || s[i] != ':') return std::nullopt;
  ++i;
  const auto mi = fixed(s, i, 2);
  if (!mi || i >= s.size() || s[i] != ':') return std::nullopt;
  ++i;
  const auto se = fixed(s, i, 2);
  if (!se) return std::nullopt;
  const auto f = fraction_us(s, i);
  // PostgreSQL's intervals hold at most 2562047788 hours.
  if (!f || *h > (interval ? 2562047788 : 24) || *mi > 59 || *se > 60) return std::nullopt;
  return ((*h * 60 + *mi) * 60 + *se) * kUsPerSecond + *f;
}

// "+HH[:MM[:SS]]" or "-..." at `i`: seconds east of UTC.
std::optional<std::int64_t> offset_part(std::string_view s, std::size_t& i) {
  if (i >= s.size() || (s[i] != '+' && s[i] != '-')) return std::nullopt;
  const bool negative = s[i] == '-';
  ++i;
  const auto h = fixed(s, i, 2);
  if (!h) return std::nullopt;
  std::int64_t seconds = *h * 3600;
  for (int part = 0; part < 2 && i < s.size() && s[i] == ':'; ++part) {
    ++i;
    const auto v = fixed(s, i, 2);
    if (!v) return std::nullopt;
    seconds += part == 0 ? *v * 60 : *v;
  }
  return negative ? -seconds : seconds;
}

// " BC" at `i`, the era PostgreSQL appends to years before 1.
bool bc_suffix(std::string_view s, std::size_t& i) {
  if (s.substr(i) == " BC") {
    i = s.size();
    return true;
  }
  return false;
}

// A timestamp's date and time, then an optional offset; the era last.
std::optional<std::int64_t> timestamp_at(std::string_view s, bool with_offset) {
  std::size_t i = 0;
  std::int64_t y = 0;
  std::int64_t m = 0;
  std::int64_t d = 0;
  if (!date_part(s, i, y, m, d) || i >= s.size() || s[i] != ' ') return std::nullopt;
  ++i;
  const auto t = time_part(s, i);
  if (!t) return std::nullopt;
  std::int64_t offset = 0;
  if (with_offset) {
    const auto o = offset_part(s, i);
    if (!o) return std::nullopt;
    offset = *o;
  }
  if (bc_suffix(s, i)) y = 1 - y;
  if (i != s.size()) return std::nullopt;
  return days_from_civil(y, m, d) * kUsPerDay + *t - offset * kUsPerSecond;
}

}  // namespace

bool is_json_number(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits(s, i)) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits(s, i)) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits(s, i)) return false;
  }
  return i == s.size();
}

std::optional<std::int64_t> date_days(std::string_view s) {
  std::size_t i = 0;
  std::int64_t y = 0;
  std::int64_t m = 0;
  std::int64_t d = 0;
  if (!date_part(s, i, y, m, d)) return std::nullopt;
  if (bc_suffix(s, i)) y = 1 - y;
  if (i != s.size()) return std::nullopt;
  return days_from_civil(y, m, d);
}

std::optional<std::int64_t> time_us(std::string_view s) {
  std::size_t i = 0;
  const auto t = time_part(s, i);
  if (!t || i != s.size()) return std::nullopt;
  return t;
}

std::optional<std::int64_t> timestamp_us(std::string_view s) {
  return timestamp_at(s, false);
}

std::optional<std::int64_t> timestamptz_us(std::string_view s) {
  return timestamp_at(s, true);
}

std::optional<std::int64_t> timetz_utc_us(std::string_view s) {
  std::size_t i = 0;
  const auto t = time_part(s, i);
  if (!t) return std::nullopt;
  const auto o = offset_part(s, i);
  if (!o || i != s.size()) return std::nullopt;
  std::int64_t utc = (*t - *o * kUsPerSecond) % kUsPerDay;
  if (utc < 0) utc += kUsPerDay;
  return utc;
}

std::optional<Interval> interval(std::string_view s) {
  Interval out;
  std::size_t i = 0;
  bool any = false;
  while (i < s.size()) {
    if (any) {
      if (s[i] != ' ') return std::nullopt;
      ++i;
    }
    any = true;
    bool negative = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
      negative = s[i] == '-';
      ++i;
    }
    const std::size_t start = i;
    const auto n = number(s, i);
    if (!n) return std::nullopt;
    if (i < s.size() && s[i] == ':') {
      // The time part, its sign applying to each of its fields.
      i = start;
      const auto t = time_part(s, i, true);
      if (!t) return std::nullopt;
      const std::int64_t sign = negative ? -1 : 1;
      const std::int64_t secs = *t / 1'000'000;
      out.hours = sign * (secs / 3600);
      out.minutes = sign * (secs / 60 % 60);
      out.seconds = sign * (secs % 60);
      out.micros = sign * (*t % 1'000'000);
      continue;
    }
    if (i >= s.size() || s[i] != ' ') return std::nullopt;
    ++i;
    const std::size_t unit_start = i;
    while (i < s.size() && s[i] >= 'a' && s[i] <= 'z') ++i;
    const std::string_view unit = s.substr(unit_start, i - unit_start);
    const std::int64_t v = negative ? -*n : *n;
    if (unit == "year" || unit == "years") {
      out.years = v;
    } else if (unit == "mon" || unit == "mons") {
      out.months = v;
    } else if (unit == "day" || unit == "days") {
      out.days = v;
    } else {
      return std::nullopt;
    }
  }
  if (!any) return std::nullopt;
  return out;
}

std::optional<std::string> bytea(std::string_view s) {
  if (s.size() < 2 || s[0] != '\\' || s[1] != 'x' || s.size() % 2 != 0) return std::nullopt;
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve((s.size() - 2) / 2);
  for (std::size_t i = 2; i < s.size(); i += 2) {
    const int hi = hex(s[i]);
    const int lo = hex(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::optional<std::vector<std::optional<std::string>>> array(std::string_view s) {
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return std::nullopt;
  std::vector<std::optional<std::string>> out;
  std::size_t i = 1;
  const std::size_t end = s.size() - 1;
  if (i == end) return out;
  for (;;) {
    if (i >= end) return std::nullopt;
    if (s[i] == '{') return std::nullopt;  // a nested array
    std::string element;
    if (s[i] == '"') {
      ++i;
      for (;;) {
        if (i >= end) return std::nullopt;
        if (s[i] == '\\') {
          if (i + 1 >= end) return std::nullopt;
          element += s[i + 1];
          i += 2;
        } else if (s[i] == '"') {
          ++i;
          break;
        } else {
          element += s[i++];
        }
      }
      out.emplace_back(std::move(element));
    } else {
      const std::size_t start = i;
      while (i < end && s[i] != ',') ++i;
      const std::string_view raw = s.substr(start, i - start);
      if (raw.empty()) return std::nullopt;
      if (raw == "NULL") {
        out.emplace_back(std::nullopt);
      } else {
        out.emplace_back(std::string(raw));
      }
    }
    if (i == end) return out;
    if (s[i] != ',') return std::nullopt;
    ++i;
  }
}

std::optional<Numeric> numeric(std::string_view s) {
  Numeric out;
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') {
    out.negative = true;
    ++i;
  }
  const std::size_t int_start = i;
  if (!digits(s, i)) return std::nullopt;
  out.digits.assign(s.substr(int_start, i - int_start));
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t frac_start = i;
    if (!digits(s, i)) return std::nullopt;
    out.digits.append(s.substr(frac_start, i - frac_start));
    out.scale = static_cast<int>(i - frac_start);
  }
  if (i != s.size()) return std::nullopt;
  return out;
}

void strip_trailing_zeros(Numeric& n) {
  while (n.scale > 0 && n.digits.size() > 1 && n.digits.back() == '0') {
    n.digits.pop_back();
    --n.scale;
  }
  if (n.scale > 0 && n.digits.size() == 1 && n.digits.back() == '0') n.scale = 0;
}

void rescale(Numeric& n, int scale) {
  if (scale >= n.scale) {
    n.digits.append(static_cast<std::size_t>(scale - n.scale), '0');
    n.scale = scale;
    return;
  }
  const auto drop = static_cast<std::size_t>(n.scale - scale);
  const bool up = n.digits.size() >= drop && n.digits[n.digits.size() - drop] >= '5';
  n.digits.resize(n.digits.size() > drop ? n.digits.size() - drop : 0);
  if (n.digits.empty()) n.digits = "0";
  n.scale = scale;
  if (!up) return;
  // Add one unit in the last place.
  std::size_t k = n.digits.size();
  while (k > 0) {
    --k;
    if (n.digits[k] == '9') {
      n.digits[k] = '0';
      if (k == 0) n.digits.insert(n.digits.begin(), '1');
    } else {
      ++n.digits[k];
      break;
    }
  }
}

std::string unscaled_bytes(const Numeric& n) {
  if (n.digits.size() <= 18) {
    // Under 10^18, so it fits 64 bits with its sign: its two's complement
    // less the leading bytes that only repeat the sign, without the limbs'
    // allocation (a numeric(12,2) column wrote one per change).
    std::int64_t v = 0;
    for (const char c : n.digits) v = v * 10 + (c - '0');
    if (n.negative) v = -v;
    const auto u = static_cast<std::uint64_t>(v);
    int size = 8;
    while (size > 1) {
      const auto top = static_cast<unsigned char>(u >> (8 * (size - 1)));
      const bool next_negative = ((u >> (8 * (size - 2))) & 0x80) != 0;
      if (!((top == 0x00 && !next_negative) || (top == 0xFF && next_negative))) break;
      --size;
    }
    std::string bytes(static_cast<std::size_t>(size), '\0');
    for (int k = 0; k < size; ++k) bytes[k] = static_cast<char>(u >> (8 * (size - 1 - k)));
    return bytes;
  }
  // The magnitude in base 2^32 limbs, least significant first.
  std::vector<std::uint32_t> limbs;
  for (const char c : n.digits) {
    std::uint64_t carry = static_cast<std::uint64_t>(c - '0');
    for (auto& limb : limbs) {
      const std::uint64_t v = std::uint64_t{limb} * 10 + carry;
      limb = static_cast<std::uint32_t>(v);
      carry = v >> 32;
    }
    if (carry != 0) limbs.push_back(static_cast<std::uint32_t>(carry));
  }
  // Big-endian bytes of the magnitude, without leading zeros.
  std::string bytes;
  for (auto it = limbs.rbegin(); it != limbs.rend(); ++it) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      const auto b = static_cast<char>((*it >> shift) & 0xFF);
      if (bytes.empty() && b == 0) continue;
      bytes += b;
    }
  }
  const bool zero = bytes.empty();
  if (zero || !n.negative) {
    // A leading 0x00 keeps a set top bit from reading as negative.
    if (zero || (static_cast<unsigned char>(bytes[0]) & 0x80) != 0) bytes.insert(0, 1, '\0');
    return bytes;
  }
  // Two's complement of the magnitude: invert and add one, in one more byte
  // than the magnitude needs, then drop sign bytes that repeat.
  bytes.insert(0, 1, '\0');
  for (auto& b : bytes) b = static_cast<char>(~static_cast<unsigned char>(b));
  for (std::size_t k = bytes.size(); k > 0; --k) {
    auto& b = reinterpret_cast<unsigned char&>(bytes[k - 1]);
    if (++b != 0) break;
  }
  std::size_t skip = 0;
  while (skip + 1 < bytes.size() && static_cast<unsigned char>(bytes[skip]) == 0xFF &&
         (static_cast<unsigned char>(bytes[skip + 1]) & 0x80) != 0) {
    ++skip;
  }
  return bytes.substr(skip);
}

}  // namespace millrace::changefeed::pgtext
