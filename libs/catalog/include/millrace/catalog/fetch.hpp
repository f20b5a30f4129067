#pragma once
// Reference data from a URL (`millrace catalog load https://...`): one GET
// through the HTTP client (libs/http), bounded in time and size, TLS
// verified.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "millrace/catalog/reader.hpp"
#include "millrace/http/client.hpp"

namespace millrace::catalog {

struct FetchLimits {
  std::chrono::milliseconds timeout{30000};  // the whole transfer, redirects included
  std::uint64_t max_bytes = 64ull << 20;     // a larger body is refused, not cut
};

struct Fetched {
  std::string body;
  std::string content_type;  // as sent, empty if none
  std::string url;           // after redirects
};

// True for "http://..." and "https://..." (any case).
bool is_url(std::string_view text);

// GET `url` through `client`: http and https only, at most 5 redirects,
// certificates and host names verified against the system's CAs, proxies
// as the environment names them. Throws core::InfraError:
// retryable when the server cannot be reached, times out or answers 5xx or
// 429; fatal when it answers another status that is not 2xx, the body
// passes `limits.max_bytes`, or the URL is malformed. The message names the
// URL and the cause.
Fetched fetch(http::Client& client, const std::string& url, const FetchLimits& limits);
// The same through a client of its own.
Fetched fetch(const std::string& url, const FetchLimits& limits);

// The format a Content-Type names: text/csv (and application/csv) is CSV;
// application/x-ndjson, application/jsonl, application/json-seq and
// application/json are NDJSON (one object per line). nullopt otherwise.
std::optional<Format> format_of_content_type(std::string_view content_type);

}  // namespace millrace::catalog
