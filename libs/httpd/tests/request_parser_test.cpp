// The server's request parser (src/request_parser.hpp) fed bytes directly:
// what it keeps, the first of a repeated header, and a body it is told to
// discard, which is consumed without being stored or making room for it.
#include "request_parser.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <string_view>

using millrace::httpd::detail::Fields;
using millrace::httpd::detail::RequestParser;

namespace {

// Feeds `bytes` until the message is done or the parser needs more; the
// error, if any.
boost::beast::error_code feed(RequestParser& parser, std::string_view bytes) {
  boost::beast::error_code ec;
  while (!bytes.empty() && !parser.is_done()) {
    const std::size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == boost::beast::http::error::need_more) return {};
    if (ec) return ec;
    bytes.remove_prefix(used);
  }
  return ec;
}

}  // namespace

TEST_CASE("the parser keeps the headers a handler may ask for, the first of each",
          "[request_parser]") {
  Fields fields;
  RequestParser parser(fields, 1024);
  parser.eager(true);
  REQUIRE_FALSE(
      feed(parser,
           "POST /v1/events?x=1 HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
           "authorization: Bearer a\r\nAuthorization: Bearer b\r\nX-Event-Type: sale_event\r\n"
           "Content-Length: 2\r\n\r\n{}"));
  CHECK(parser.is_done());
  CHECK(fields.method == "POST");
  CHECK(fields.target == "/v1/events?x=1");
  CHECK(fields.content_type == "application/json");
  CHECK(fields.authorization == "Bearer a");
  CHECK(fields.has_event_type);
  CHECK(fields.event_type == "sale_event");
  CHECK_FALSE(fields.has_accept);
  CHECK(fields.body == "{}");
}

TEST_CASE("a discarded body is consumed but neither stored nor given room", "[request_parser]") {
  Fields fields;
  RequestParser parser(fields, 1 << 20);
  const std::string body(100'000, 'x');
  const std::string head =
      "POST /v1/events HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n";
  // The header alone, as the server reads it before screening.
  REQUIRE_FALSE(feed(parser, head));
  REQUIRE(parser.is_header_done());
  CHECK(fields.body.capacity() < 1000);  // nothing made room for the body yet
  parser.discard_body();
  parser.eager(true);
  REQUIRE_FALSE(feed(parser, body));
  CHECK(parser.is_done());
  CHECK(fields.body.empty());
  CHECK(fields.body.capacity() < 1000);
}

TEST_CASE("limits: headers over 16 KiB and a body over the limit are errors", "[request_parser]") {
  Fields fields;
  RequestParser big_headers(fields, 1024);
  CHECK(feed(big_headers, "GET / HTTP/1.1\r\nX: " + std::string(17 * 1024, 'a') + "\r\n\r\n") ==
        boost::beast::http::error::header_limit);
  RequestParser big_body(fields, 10);
  CHECK(feed(big_body, "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n") ==
        boost::beast::http::error::body_limit);
}
