#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "debezium_types.hpp"
#include "millrace/core/base64.hpp"
#include "millrace/core/json_string.hpp"
#include "pg_text.hpp"

// A column's value as Debezium writes it, from PostgreSQL's text of it
// (append_value), and what stands in for a value a row image lacks. Its
// codec and schema: debezium_types.cpp.

namespace millrace::changefeed::debezium {

namespace {

using Kind = ColumnCodec::Kind;

void append_quoted(std::string& out, std::string_view text) {
  core::append_json_string(out, text);
}

[[noreturn]] void bad(const ColumnCodec& codec, std::string_view text) {
  throw DecodeError("a " + (codec.name.empty() ? codec.type : codec.name) +
                    " column holds text PostgreSQL does not write for its type: \"" +
                    std::string(text.substr(0, 64)) + "\"");
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void append_double(std::string& out, double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Java's double for a number PostgreSQL wrote, or its name for the special values.
void append_as_double(std::string& out, std::string_view text) {
  if (text == "NaN" || text == "Infinity" || text == "-Infinity") {
    append_quoted(out, text);
    return;
  }
  const std::string s(text);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) throw DecodeError("not a number: \"" + s + "\"");
  append_double(out, v);
}

// pgjdbc's PGStatement.DATE_POSITIVE_INFINITY and DATE_NEGATIVE_INFINITY,
// which Debezium writes for a timestamp's infinities as microseconds (and
// a thousandth of them as milliseconds).
constexpr std::int64_t kPositiveInfinity = 9223372036825200000LL;
constexpr std::int64_t kNegativeInfinity = -9223372036832400000LL;

// "2024-06-01T06:34:00.000001Z" with `digits` fraction digits (none at 0).
void append_zoned_timestamp(std::string& out, std::int64_t us, int digits) {
  std::int64_t days = us / 86'400'000'000LL;
  std::int64_t rem = us % 86'400'000'000LL;
  if (rem < 0) {
    rem += 86'400'000'000LL;
    --days;
  }
  // civil_from_days (Howard Hinnant).
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = yoe + era * 400;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  const std::int64_t secs = rem / 1'000'000;
  const std::int64_t micros = rem % 1'000'000;
  char buf[64];
  int n = 0;
  if (y >= 0 && y <= 9999) {
    n = std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld",
                      static_cast<long long>(y), static_cast<long long>(m),
                      static_cast<long long>(d), static_cast<long long>(secs / 3600),
                      static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  } else {
    // java.time writes years outside 0-9999 with a sign.
    n = std::snprintf(buf, sizeof buf, "%+05lld-%02lld-%02lldT%02lld:%02lld:%02lld",
                      static_cast<long long>(y), static_cast<long long>(m),
                      static_cast<long long>(d), static_cast<long long>(secs / 3600),
                      static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  }
  out += '"';
  out.append(buf, static_cast<std::size_t>(n));
  if (digits > 0) {
    char frac[8];
    std::snprintf(frac, sizeof frac, "%06lld", static_cast<long long>(micros));
    out += '.';
    out.append(frac, static_cast<std::size_t>(std::min(digits, 6)));
    for (int k = 6; k < digits; ++k) out += '0';
  }
  out += "Z\"";
}

// "04:34:00.5Z": java.time's ISO_OFFSET_TIME, whose fraction has only the
// digits it needs.
void append_zoned_time(std::string& out, std::int64_t us) {
  const std::int64_t secs = us / 1'000'000;
  const std::int64_t micros = us % 1'000'000;
  char buf[32];
  const int n =
      std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(secs / 3600),
                    static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  out += '"';
  out.append(buf, static_cast<std::size_t>(n));
  if (micros != 0) {
    char frac[8];
    std::snprintf(frac, sizeof frac, "%06lld", static_cast<long long>(micros));
    std::string f(frac);
    while (f.back() == '0') f.pop_back();
    out += '.';
    out += f;
  }
  out += "Z\"";
}

// io.debezium.time.MicroDuration.durationMicros, with PostgreSQL's average
// month (365.25 / 12 days), in the same double arithmetic.
std::int64_t duration_micros(const pgtext::Interval& i) {
  constexpr double kDaysPerMonth = 365.25 / 12.0;
  const double seconds = static_cast<double>(i.seconds) + static_cast<double>(i.micros) / 1000000.0;
  const double days =
      static_cast<double>(i.years * 12 + i.months) * kDaysPerMonth + static_cast<double>(i.days);
  const double total =
      ((days * 24 + static_cast<double>(i.hours)) * 60 + static_cast<double>(i.minutes)) * 60 +
      seconds;
  return static_cast<std::int64_t>(total * 1e6);
}

// java.util.BitSet.toByteArray of the bits, the last character being bit 0.
std::string bit_bytes(std::string_view bits) {
  std::string out((bits.size() + 7) / 8, '\0');
  for (std::size_t k = 0; k < bits.size(); ++k) {
    if (bits[bits.size() - 1 - k] == '1')
      out[k / 8] = static_cast<char>(out[k / 8] | (1 << (k % 8)));
  }
  while (!out.empty() && out.back() == '\0') out.pop_back();
  return out;
}

// money's text under lc_monetary ("$1,234.50", "-$1.00"): its number.
std::optional<pgtext::Numeric> money(std::string_view text) {
  std::string plain;
  for (const char c : text) {
    if ((c >= '0' && c <= '9') || c == '.' || c == '-') plain += c;
  }
  auto n = pgtext::numeric(plain);
  if (n) pgtext::rescale(*n, 2);
  return n;
}

void append_decimal_bytes(std::string& out, const pgtext::Numeric& n) {
  out += '"';
  core::append_base64(out, pgtext::unscaled_bytes(n));
  out += '"';
}

}  // namespace

void append_value(std::string& out, const ColumnCodec& codec, std::string_view text) {
  switch (codec.kind) {
    case Kind::kBool:
      out += text == "t" ? "true" : "false";
      return;
    case Kind::kInteger:
      if (!pgtext::is_json_number(text)) bad(codec, text);
      out += text;
      return;
    case Kind::kFloat:
      if (pgtext::is_json_number(text)) {
        out += text;
      } else {
        append_quoted(out, text);
      }
      return;
    case Kind::kDecimal: {
      auto n = pgtext::numeric(text);
      if (!n) {
        out += "null";  // NaN and the infinities have no Decimal
        return;
      }
      pgtext::rescale(*n, codec.scale);
      append_decimal_bytes(out, *n);
      return;
    }
    case Kind::kVariableDecimal: {
      auto n = pgtext::numeric(text);
      if (!n) {
        out += "null";
        return;
      }
      pgtext::strip_trailing_zeros(*n);
      out += "{\"scale\":" + std::to_string(n->scale) + ",\"value\":";
      append_decimal_bytes(out, *n);
      out += '}';
      return;
    }
    case Kind::kDecimalString:
      append_quoted(out, text);
      return;
    case Kind::kDecimalDouble:
      append_as_double(out, text);
      return;
    case Kind::kMoney: {
      const auto n = money(text);
      if (!n) bad(codec, text);
      append_decimal_bytes(out, *n);
      return;
    }
    case Kind::kMoneyString: {
      const auto n = money(text);
      if (!n) bad(codec, text);
      std::string s = n->negative ? "-" : "";
      std::string digits = n->digits;
      if (digits.size() < 3) digits.insert(0, 3 - digits.size(), '0');
      s += digits.substr(0, digits.size() - 2) + "." + digits.substr(digits.size() - 2);
      append_quoted(out, s);
      return;
    }
    case Kind::kMoneyDouble: {
      const auto n = money(text);
      if (!n) bad(codec, text);
      std::string digits = n->digits;
      if (digits.size() < 3) digits.insert(0, 3 - digits.size(), '0');
      append_as_double(out, (n->negative ? "-" : "") + digits.substr(0, digits.size() - 2) + "." +
                                digits.substr(digits.size() - 2));
      return;
    }
    case Kind::kString:
      append_quoted(out, text);
      return;
    case Kind::kDate: {
      // PostgreSQL keeps a date as days since 2000-01-01, infinity as
      // INT32_MAX and -infinity as INT32_MIN; Debezium moves those to the
      // Unix epoch in 32 bits, and writes what wraps around.
      if (text == "infinity" || text == "-infinity") {
        const std::int64_t stored = text == "infinity" ? INT32_MAX : INT32_MIN;
        append_int(out, static_cast<std::int32_t>(static_cast<std::uint32_t>(stored + 10957)));
        return;
      }
      const auto days = pgtext::date_days(text);
      if (!days) bad(codec, text);
      append_int(out, *days);
      return;
    }
    case Kind::kTimeMillis:
    case Kind::kTimeMicros: {
      const auto us = pgtext::time_us(text);
      if (!us) bad(codec, text);
      append_int(out, codec.kind == Kind::kTimeMillis ? *us / 1000 : *us);
      return;
    }
    case Kind::kTimestampMillis:
    case Kind::kTimestampMicros: {
      if (text == "infinity" || text == "-infinity") {
        const std::int64_t v = text == "infinity" ? kPositiveInfinity : kNegativeInfinity;
        append_int(out, codec.kind == Kind::kTimestampMillis ? v / 1000 : v);
        return;
      }
      const auto us = pgtext::timestamp_us(text);
      if (!us) bad(codec, text);
      if (codec.kind == Kind::kTimestampMicros) {
        append_int(out, *us);
      } else {
        append_int(out, *us >= 0 ? *us / 1000 : -((-*us + 999) / 1000));
      }
      return;
    }
    case Kind::kZonedTimestamp: {
      if (text == "infinity" || text == "-infinity") {
        append_quoted(out, text);
        return;
      }
      const auto us = pgtext::timestamptz_us(text);
      if (!us) bad(codec, text);
      append_zoned_timestamp(out, *us, codec.fraction_digits);
      return;
    }
    case Kind::kZonedTime: {
      const auto us = pgtext::timetz_utc_us(text);
      if (!us) bad(codec, text);
      append_zoned_time(out, *us);
      return;
    }
    case Kind::kInterval: {
      const auto i = pgtext::interval(text);
      if (!i) bad(codec, text);
      append_int(out, duration_micros(*i));
      return;
    }
    case Kind::kBytes: {
      const auto bytes = pgtext::bytea(text);
      if (!bytes) bad(codec, text);
      out += '"';
      core::append_base64(out, *bytes);
      out += '"';
      return;
    }
    case Kind::kBits:
      out += '"';
      core::append_base64(out, bit_bytes(text));
      out += '"';
      return;
    case Kind::kBitBool:
      out += text == "1" ? "true" : "false";
      return;
    case Kind::kArray: {
      const auto elements = pgtext::array(text);
      if (!elements) bad(codec, text);
      out += '[';
      bool first = true;
      for (const auto& e : *elements) {
        if (!first) out += ',';
        first = false;
        if (e) {
          append_value(out, *codec.items, *e);
        } else {
          out += "null";
        }
      }
      out += ']';
      return;
    }
  }
}

void append_unavailable(std::string& out, const ColumnCodec& codec) {
  switch (codec.kind) {
    case Kind::kBytes:
    case Kind::kBits:
    case Kind::kDecimal:
    case Kind::kMoney:
      out += '"';
      core::append_base64(out, kUnavailable);
      out += '"';
      return;
    case Kind::kArray:
      if (codec.items->kind == Kind::kInteger) {
        // The placeholder's bytes, one element each.
        out += '[';
        for (std::size_t k = 0; k < kUnavailable.size(); ++k) {
          if (k != 0) out += ',';
          out += std::to_string(static_cast<int>(kUnavailable[k]));
        }
        out += ']';
      } else {
        out += '[';
        append_quoted(out, kUnavailable);
        out += ']';
      }
      return;
    case Kind::kVariableDecimal:
      out += "null";
      return;
    default:
      append_quoted(out, kUnavailable);
      return;
  }
}

void append_fallback(std::string& out, const ColumnCodec& codec) {
  switch (codec.kind) {
    case Kind::kBool:
    case Kind::kBitBool:
      out += "false";
      return;
    case Kind::kInteger:
    case Kind::kDate:
    case Kind::kTimeMillis:
    case Kind::kTimeMicros:
    case Kind::kTimestampMillis:
    case Kind::kTimestampMicros:
    case Kind::kInterval:
      out += '0';
      return;
    case Kind::kFloat:
    case Kind::kDecimalDouble:
    case Kind::kMoneyDouble:
      out += "0.0";
      return;
    case Kind::kDecimal:
    case Kind::kMoney:
      out += "\"AA==\"";
      return;
    case Kind::kVariableDecimal:
      out += "{\"scale\":0,\"value\":\"AA==\"}";
      return;
    case Kind::kBytes:
    case Kind::kBits:
      out += "\"\"";
      return;
    case Kind::kArray:
      out += "[]";
      return;
    default:
      out += "\"\"";
      return;
  }
}

}  // namespace millrace::changefeed::debezium
