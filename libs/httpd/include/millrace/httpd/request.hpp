#pragma once

// The pure pieces of reading a request that every service on the server
// needs: content types, the bearer check, query parameters. No I/O, so each
// is unit-tested alone.

#include <cstdint>
#include <optional>
#include <string_view>

namespace millrace::httpd {

// HTTP's optional whitespace (RFC 9110 5.6.3): a space or a tab.
bool is_header_space(char c);

// `s` without the characters `space` accepts at either end.
std::string_view trim(std::string_view s, bool (*space)(char));

enum class BodyFormat : std::uint8_t {
  kJson,    // one event object, or an array of them
  kNdjson,  // one event object per line
};

// From a Content-Type value: application/json or application/x-ndjson, in any
// case, with optional parameters. A charset other than UTF-8 is refused (JSON
// is UTF-8, RFC 8259). nullopt means 415.
std::optional<BodyFormat> body_format(std::string_view content_type);

// Compares in time that depends on the length of `expected` only, so a
// client cannot find the token byte by byte from response times.
bool constant_time_equal(std::string_view given, std::string_view expected);

// Whether an Authorization header value is "Bearer <token>" (the scheme in
// any case, RFC 7235).
bool bearer_matches(std::string_view authorization, std::string_view token);

// The raw value of the first `name=value` in a query string (the part of
// the target after '?'); "" for a bare `name`; nullopt when absent. Values
// are not percent-decoded: the parameters we take are plain words.
std::optional<std::string_view> query_param(std::string_view query, std::string_view name);

}  // namespace millrace::httpd
