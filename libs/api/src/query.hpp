#pragma once

// The pure parts of reading a request: percent-decoding, the query
// parameters (limit, from, to, group), RFC 3339 timestamps and the Accept
// header. No I/O; unit-tested in tests/query_test.cpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace millrace::api {

// Rows a read returns when `limit` is absent, and the most it may ask for.
inline constexpr std::int64_t kDefaultLimit = 1000;
inline constexpr std::int64_t kMaxLimit = 10000;

// RFC 3986 percent-decoding; `plus_is_space` for query strings (HTML forms
// send a space as '+'). nullopt for a '%' not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

// Whether `text` is UTF-8 without NUL: what a PostgreSQL text value can be.
// Anything else cannot name a stored row.
bool storable_text(std::string_view text);

// An RFC 3339 date-time ("2026-11-21T14:00:00Z", "...T15:00:00.5+01:00",
// 't' and 'z' in either case) as microseconds since the Unix epoch, UTC;
// the fraction is cut to microseconds, a leap second (:60) counts as the
// next second, as PostgreSQL reads it. Years 0000..9999. nullopt for
// anything else, including a missing offset (RFC 3339 requires one).
std::optional<std::int64_t> parse_rfc3339(std::string_view text);
// A timestamptz literal PostgreSQL reads as that instant: ISO 8601 in UTC
// with six fraction digits, "-infinity" before year 1 (PostgreSQL has no
// year 0).
std::string timestamptz_literal(std::int64_t micros);

// A whole number from 1, in decimal digits only (no sign, no blanks): a
// sku, a webhook endpoint's or delivery's id. nullopt for anything else,
// which names no row.
std::optional<std::int64_t> parse_id(std::string_view text);

// A query parameter that is present but unusable: 400, naming it.
struct QueryError {
  std::string parameter;
  std::string detail;
};

// The parameters of a view read. Unknown parameters are refused (a typo
// such as `limt` must not be ignored in silence).
struct ViewParams {
  std::int64_t limit = kDefaultLimit;
  std::optional<std::int64_t> from_us;  // window_start >= from
  std::optional<std::int64_t> to_us;    // window_start < to
  std::optional<std::string> group;     // /v1/accounting only
  // A view's dimensions (pg::ViewInfo::dimensions) and the value each must
  // have, in the order given.
  std::vector<std::pair<std::string, std::string>> filters;
  // A webhook endpoint's deliveries: status=failed (or all), and before=<id>
  // for the page after the one that ended at that id.
  bool failed_only = false;
  std::optional<std::int64_t> before;
};

enum class ParamSet : std::uint8_t {
  kNone,        // no parameter at all
  kLimit,       // limit
  kWindowed,    // limit, from, to
  kGroup,       // limit, group
  kDeliveries,  // limit, status, before
};
// `dimensions`: the names a windowed view also takes, each once.
std::variant<ViewParams, QueryError> parse_params(std::string_view query, ParamSet allowed,
                                                  const std::vector<std::string>& dimensions = {});

enum class Format : std::uint8_t { kJson, kCsv };
// Content negotiation (RFC 9110 12.5.1) between JSON (application/json,
// application/*, */*) and, where `csv_too`, CSV (text/csv, text/*): the
// higher q-value wins, JSON on a tie; no Accept (or an empty one) means
// JSON. nullopt: the client accepts neither (406).
std::optional<Format> negotiate(std::optional<std::string_view> accept, bool csv_too);

}  // namespace millrace::api
