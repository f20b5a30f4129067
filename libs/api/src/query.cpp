#include "query.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <vector>

#include "millrace/core/utf8.hpp"
#include "millrace/core/values.hpp"

namespace millrace::api {

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
// (Howard Hinnant's days_from_civil), valid for any year here.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month, day;
};
Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

bool leap(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30,
                                                     31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Exactly `n` digits at text[pos..].
std::optional<unsigned> digits(std::string_view text, std::size_t pos, std::size_t n) {
  if (pos + n > text.size()) return std::nullopt;
  unsigned v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(text[i] - '0');
  }
  return v;
}

std::optional<std::int64_t> parse_limit(std::string_view v) {
  const auto n = parse_id(v);
  if (!n || *n > kMaxLimit) return std::nullopt;
  return n;
}

// Without the blanks (spaces, tabs) at either end: HTTP's optional
// whitespace around list elements and parameters.
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The q-value of a media range's parameters ("; q=0.5"); 1 when absent,
// -1 when malformed.
double quality(std::string_view params) {
  double q = 1;
  while (!params.empty()) {
    const auto semi = params.find(';');
    const std::string_view p = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    if (p.size() < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=') continue;
    const std::string value(p.substr(2));
    char* end = nullptr;
    q = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || q < 0 || q > 1) return -1;
  }
  return q;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex(text[i + 1]);
      const int lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool storable_text(std::string_view text) {
  return core::is_storable_text(text);
}

std::optional<std::int64_t> parse_rfc3339(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.f+](Z|+hh:mm|-hh:mm)
  const auto year = digits(t, 0, 4);
  const auto month = digits(t, 5, 2);
  const auto day = digits(t, 8, 2);
  const auto hour = digits(t, 11, 2);
  const auto minute = digits(t, 14, 2);
  const auto second = digits(t, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || t[4] != '-' || t[7] != '-' ||
      (t[10] != 'T' && t[10] != 't') || t[13] != ':' || t[16] != ':') {
    return std::nullopt;
  }
  if (*month < 1 || *month > 12 || *day < 1 || *day > days_in_month(*year, *month) || *hour > 23 ||
      *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  std::int64_t micros = 0;
  if (pos < t.size() && t[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    std::int64_t scale = 100000;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
      micros += (t[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  if (pos >= t.size()) return std::nullopt;  // RFC 3339 requires an offset
  std::int64_t offset_s = 0;
  if (t[pos] == 'Z' || t[pos] == 'z') {
    ++pos;
  } else if (t[pos] == '+' || t[pos] == '-') {
    const auto oh = digits(t, pos + 1, 2);
    const auto om = digits(t, pos + 4, 2);
    if (!oh || !om || t[pos + 3] != ':' || *oh > 23 || *om > 59) return std::nullopt;
    offset_s = (t[pos] == '+' ? 1 : -1) * static_cast<std::int64_t>(*oh * 3600 + *om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != t.size()) return std::nullopt;
  const std::int64_t seconds = days_from_civil(*year, *month, *day) * 86400 +
                               static_cast<std::int64_t>(*hour * 3600 + *minute * 60 + *second) -
                               offset_s;
  return seconds * 1'000'000 + micros;
}

std::string timestamptz_literal(std::int64_t micros) {
  static const std::int64_t kYearOne = days_from_civil(1, 1, 1) * 86400 * 1'000'000;
  if (micros < kYearOne) return "-infinity";
  std::int64_t days = micros / 86'400'000'000;
  std::int64_t rest = micros % 86'400'000'000;
  if (rest < 0) {
    rest += 86'400'000'000;
    --days;
  }
  const Civil c = civil_from_days(days);
  const std::int64_t s = rest / 1'000'000;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                static_cast<long long>(c.year), c.month, c.day, static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60),
                static_cast<long long>(rest % 1'000'000));
  return buf;
}

std::optional<std::int64_t> parse_id(std::string_view text) {
  std::int64_t n = 0;
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1) return std::nullopt;
  return n;
}

std::variant<ViewParams, QueryError> parse_params(std::string_view query, ParamSet allowed,
                                                  const std::vector<std::string>& dimensions) {
  ViewParams out;
  std::vector<std::string> seen;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const auto name = percent_decode(pair.substr(0, eq), true);
    const auto value =
        percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!name || !value) {
      return QueryError{name ? *name : std::string(pair.substr(0, eq)),
                        "malformed percent-encoding"};
    }
    const bool dimension =
        allowed == ParamSet::kWindowed &&
        std::find(dimensions.begin(), dimensions.end(), *name) != dimensions.end();
    const bool known =
        dimension || (*name == "limit" && allowed != ParamSet::kNone) ||
        ((*name == "from" || *name == "to") && allowed == ParamSet::kWindowed) ||
        (*name == "group" && allowed == ParamSet::kGroup) ||
        ((*name == "status" || *name == "before") && allowed == ParamSet::kDeliveries);
    if (!known) {
      std::string accepted;
      switch (allowed) {
        case ParamSet::kNone:
          accepted = "this resource takes no query parameters";
          break;
        case ParamSet::kLimit:
          accepted = "this resource takes only limit";
          break;
        case ParamSet::kWindowed:
          accepted = "this resource takes limit, from and to";
          for (const auto& d : dimensions) accepted += ", " + d;
          break;
        case ParamSet::kGroup:
          accepted = "this resource takes limit and group";
          break;
        case ParamSet::kDeliveries:
          accepted = "this resource takes limit, status and before";
          break;
      }
      return QueryError{*name, "unknown parameter: " + accepted};
    }
    if (std::find(seen.begin(), seen.end(), *name) != seen.end()) {
      return QueryError{*name, "given more than once"};
    }
    seen.push_back(*name);
    if (dimension) {
      out.filters.emplace_back(*name, *value);
    } else if (*name == "limit") {
      const auto n = parse_limit(*value);
      if (!n) {
        return QueryError{"limit", "must be a whole number from 1 to " + std::to_string(kMaxLimit) +
                                       ", not \"" + *value + "\""};
      }
      out.limit = *n;
    } else if (*name == "group") {
      out.group = *value;
    } else if (*name == "status") {
      if (*value != "failed" && *value != "all") {
        return QueryError{"status", "must be failed or all, not \"" + *value + "\""};
      }
      out.failed_only = *value == "failed";
    } else if (*name == "before") {
      const auto id = parse_id(*value);
      if (!id) {
        return QueryError{"before",
                          "must be a delivery id (a whole number from 1), not \"" + *value + "\""};
      }
      out.before = *id;
    } else {
      const auto ts = parse_rfc3339(*value);
      if (!ts) {
        return QueryError{*name,
                          "must be an RFC 3339 date-time with an offset (e.g. "
                          "2026-11-21T14:00:00Z), not \"" +
                              *value + "\""};
      }
      (*name == "from" ? out.from_us : out.to_us) = *ts;
    }
  }
  return out;
}

std::optional<Format> negotiate(std::optional<std::string_view> accept, bool csv_too) {
  if (!accept) return Format::kJson;
  double json = -1, csv = -1;
  bool any = false;
  for (const std::string& item : core::split_list(*accept)) {
    const std::string_view range = item;
    const auto semi = range.find(';');
    const std::string_view type = trim(range.substr(0, semi));
    if (type.empty()) continue;
    any = true;
    const double q =
        quality(semi == std::string_view::npos ? std::string_view() : range.substr(semi + 1));
    if (q < 0) continue;
    const std::string t = lower(type);
    if (t == "*/*" || t == "application/*" || t == "application/json") json = std::max(json, q);
    if (t == "*/*" || t == "text/*" || t == "text/csv") csv = std::max(csv, q);
  }
  if (!any) return Format::kJson;
  if (!csv_too) csv = -1;
  if (json <= 0 && csv <= 0) return std::nullopt;
  return csv > json ? Format::kCsv : Format::kJson;
}

}  // namespace millrace::api
