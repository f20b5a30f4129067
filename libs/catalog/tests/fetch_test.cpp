// What the fetcher decides without a server: which sources are URLs, which
// Content-Types name which format, what it asks of the HTTP client (a fake
// here) and how each answer fails.
// tests/integration/catalog_url.sh fetches from a real server.
#include "millrace/catalog/fetch.hpp"

#include <catch2/catch.hpp>

#include "millrace/core/failure.hpp"
#include "millrace/http/testing/fake_client.hpp"

using namespace millrace::catalog;
using millrace::core::FailureClass;
using millrace::core::InfraError;
using millrace::http::testing::answer;
using millrace::http::testing::FakeClient;
using millrace::http::testing::no_answer;
using millrace::http::testing::Seen;

namespace {

// The class and message of what fetching `url` through a client answering
// `r` throws.
std::pair<FailureClass, std::string> failure_of(millrace::http::Response r,
                                                const FetchLimits& limits = {}) {
  std::vector<Seen> seen;
  FakeClient client(seen, [&](const Seen&) { return r; });
  try {
    fetch(client, "https://example.org/c.csv", limits);
  } catch (const InfraError& e) {
    return {e.failure_class(), e.what()};
  }
  FAIL("fetched");
  return {FailureClass::kPoison, ""};
}

}  // namespace

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

TEST_CASE("a fetch is one GET that follows redirects, bounded in time and size",
          "[catalog][fetch]") {
  std::vector<Seen> seen;
  FakeClient client(seen, [](const Seen&) {
    auto r = answer(200, "id,name\n", {{"content-type", "text/csv; charset=utf-8"}});
    r.url = "https://cdn.example.org/c.csv";
    return r;
  });
  FetchLimits limits;
  limits.timeout = std::chrono::milliseconds(30000);
  limits.max_bytes = 1234;
  const auto fetched = fetch(client, "https://example.org/c.csv", limits);
  CHECK(fetched.body == "id,name\n");
  CHECK(fetched.content_type == "text/csv; charset=utf-8");
  CHECK(fetched.url == "https://cdn.example.org/c.csv");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "GET");
  CHECK(seen[0].url == "https://example.org/c.csv");
  const auto& o = seen[0].options;
  CHECK(o.follow_redirects);
  CHECK(o.max_redirects == 5);
  CHECK(o.total_timeout == std::chrono::milliseconds(30000));
  CHECK(o.connect_timeout == std::chrono::milliseconds(10000));
  CHECK(o.max_body == 1234);
  CHECK(o.decode_content);
  CHECK_FALSE(o.proxy);
  CHECK(o.user_agent == "millrace-catalog-load");

  limits.timeout = std::chrono::milliseconds(2000);
  fetch(client, "https://example.org/c.csv", limits);
  CHECK(seen[1].options.connect_timeout == std::chrono::milliseconds(2000));
}

TEST_CASE("an answer that is not 2xx fails, retryable when the server may recover",
          "[catalog][fetch]") {
  CHECK(failure_of(answer(503)).first == FailureClass::kRetryable);
  CHECK(failure_of(answer(429)).first == FailureClass::kRetryable);
  CHECK(failure_of(answer(408)).first == FailureClass::kRetryable);
  const auto [missing, why] = failure_of(answer(404, "not found"));
  CHECK(missing == FailureClass::kFatal);
  CHECK(why == "https://example.org/c.csv: the server answered HTTP 404");
  CHECK(failure_of(answer(302)).first == FailureClass::kFatal);
}

TEST_CASE("a body past the cap is refused, naming the cap and its flag", "[catalog][fetch]") {
  using millrace::http::Cause;
  FetchLimits limits;
  limits.max_bytes = 100;
  const auto [large, why] = failure_of(no_answer(Cause::kTooLarge, "too large"), limits);
  CHECK(large == FailureClass::kFatal);
  CHECK(why ==
        "https://example.org/c.csv: the body is larger than the cap of 100 bytes (--max-bytes)");
  const auto [lost, lost_why] = failure_of(no_answer(Cause::kNoAnswer, "Connection reset"));
  CHECK(lost == FailureClass::kRetryable);
  CHECK(lost_why == "https://example.org/c.csv: Connection reset");
  CHECK(failure_of(no_answer(Cause::kUnusable, "Maximum (5) redirects followed")).first ==
        FailureClass::kFatal);
}
