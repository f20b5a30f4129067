// The request helpers every service on the server shares: content types,
// the bearer check, query parameters.
#include "millrace/httpd/request.hpp"

#include <catch2/catch.hpp>

using namespace millrace::httpd;

TEST_CASE("content types: JSON and NDJSON, any case, UTF-8 only", "[request]") {
  CHECK(body_format("application/json") == BodyFormat::kJson);
  CHECK(body_format("Application/JSON") == BodyFormat::kJson);
  CHECK(body_format("application/json; charset=utf-8") == BodyFormat::kJson);
  CHECK(body_format("application/json;charset=\"UTF-8\"") == BodyFormat::kJson);
  CHECK(body_format(" application/json ; foo=bar") == BodyFormat::kJson);
  CHECK(body_format("application/x-ndjson") == BodyFormat::kNdjson);
  CHECK(body_format("application/x-ndjson; charset=utf-8") == BodyFormat::kNdjson);

  CHECK_FALSE(body_format(""));
  CHECK_FALSE(body_format("text/plain"));
  CHECK_FALSE(body_format("application/jsonx"));
  CHECK_FALSE(body_format("application/x-www-form-urlencoded"));
  CHECK_FALSE(body_format("application/json; charset=iso-8859-1"));
  CHECK_FALSE(body_format("application/x-ndjson; charset=utf-16"));
}

TEST_CASE("bearer tokens: scheme in any case, exact token", "[request]") {
  CHECK(bearer_matches("Bearer s3cret", "s3cret"));
  CHECK(bearer_matches("bearer s3cret", "s3cret"));
  CHECK(bearer_matches("BEARER   s3cret ", "s3cret"));
  CHECK_FALSE(bearer_matches("", "s3cret"));
  CHECK_FALSE(bearer_matches("Bearer", "s3cret"));
  CHECK_FALSE(bearer_matches("Bearer ", "s3cret"));
  CHECK_FALSE(bearer_matches("Basic s3cret", "s3cret"));
  CHECK_FALSE(bearer_matches("Bearers3cret", "s3cret"));
  CHECK_FALSE(bearer_matches("Bearer s3cre", "s3cret"));
  CHECK_FALSE(bearer_matches("Bearer s3cret2", "s3cret"));
  CHECK_FALSE(bearer_matches("Bearer S3CRET", "s3cret"));

  CHECK(constant_time_equal("", ""));
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("ab", "abc"));
  CHECK_FALSE(constant_time_equal("abcd", "abc"));
  CHECK_FALSE(constant_time_equal("", "abc"));
  // A prefix padded with NULs is no match either.
  CHECK_FALSE(constant_time_equal(std::string_view("ab\0", 3), "ab"));
}

TEST_CASE("query parameters: first match, raw value, bare names", "[request]") {
  CHECK(query_param("ack=none", "ack") == "none");
  CHECK(query_param("x=1&ack=all&ack=none", "ack") == "all");
  CHECK(query_param("ack", "ack") == "");
  CHECK(query_param("ack=", "ack") == "");
  CHECK_FALSE(query_param("", "ack"));
  CHECK_FALSE(query_param("acks=none&back=1", "ack"));
  CHECK(query_param("a=%20b", "a") == "%20b");
}

TEST_CASE("trimming: header space only at either end, or what the caller says", "[request]") {
  CHECK(trim(" \t a b \t", is_header_space) == "a b");
  CHECK(trim("\r\na\n", is_header_space) == "\r\na\n");
  CHECK(trim(" \t ", is_header_space).empty());
  CHECK(trim("\n a \r", [](char c) { return c == '\n' || c == '\r' || c == ' '; }) == "a");
}
