// What the fetcher decides without a server: which sources are URLs, which
// Content-Types name which format, and how a URL it cannot use fails.
// tests/integration/catalog_url.sh fetches from a real server.
#include "millrace/catalog/fetch.hpp"

#include <catch2/catch.hpp>

#include "millrace/core/failure.hpp"

using namespace millrace::catalog;
using millrace::core::FailureClass;
using millrace::core::InfraError;

TEST_CASE("URLs are http and https, in any case", "[catalog][fetch]") {
  CHECK(is_url("http://example.org/catalog.csv"));
  CHECK(is_url("HTTPS://example.org/c"));
  CHECK_FALSE(is_url("catalog.csv"));
  CHECK_FALSE(is_url("-"));
  CHECK_FALSE(is_url("ftp://example.org/c.csv"));
  CHECK_FALSE(is_url("file:///etc/passwd"));
  CHECK_FALSE(is_url("http:/"));
}

TEST_CASE("a Content-Type names the format, parameters and case aside", "[catalog][fetch]") {
  CHECK(format_of_content_type("text/csv") == Format::kCsv);
  CHECK(format_of_content_type("Text/CSV; charset=utf-8") == Format::kCsv);
  CHECK(format_of_content_type("application/csv") == Format::kCsv);
  CHECK(format_of_content_type("application/x-ndjson") == Format::kNdjson);
  CHECK(format_of_content_type("application/json; charset=utf-8") == Format::kNdjson);
  CHECK(format_of_content_type("application/jsonl") == Format::kNdjson);
  CHECK_FALSE(format_of_content_type("text/plain"));
  CHECK_FALSE(format_of_content_type("application/octet-stream"));
  CHECK_FALSE(format_of_content_type(""));
}

TEST_CASE("a URL that cannot be fetched fails with its class and names the URL",
          "[catalog][fetch]") {
  const auto failure = [](const std::string& url) {
    try {
      FetchLimits limits;
      limits.timeout = std::chrono::milliseconds(5000);
      fetch(url, limits);
    } catch (const InfraError& e) {
      CHECK(std::string(e.what()).find(url) != std::string::npos);
      return e.failure_class();
    }
    FAIL("fetched " << url);
    return FailureClass::kRetryable;
  };
  // Nothing listens on port 1 of loopback: retried by --every.
  CHECK(failure("http://127.0.0.1:1/catalog.csv") == FailureClass::kRetryable);
  // Another scheme is refused outright, even behind http's name.
  CHECK(failure("gopher://127.0.0.1/x") == FailureClass::kFatal);
}
