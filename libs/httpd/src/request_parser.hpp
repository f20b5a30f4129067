#pragma once
// How the server reads a request off the wire: Beast's parser (the HTTP/1.1
// grammar, chunked bodies, header and body limits) feeding Fields, the few
// headers a handler may ask for. Private to the library; the fuzz target
// (fuzz/request_fuzz.cpp) drives it as the server does.

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <cstdint>
#include <string>

namespace millrace::httpd::detail {

// Headers beyond this are refused (431): nothing we take needs more.
inline constexpr std::uint32_t kHeaderLimit = 16 * 1024;

// The headers a handler may ask for, kept in strings that keep their
// capacity from one request to the next: parsing a request allocates
// nothing once a connection has warmed up.
struct Fields {
  std::string method;
  std::string target;
  std::string content_type;
  std::string authorization;
  std::string event_type;
  std::string accept;         // millrace-api answers JSON or CSV by it
  std::string last_event_id;  // a Server-Sent Events client reconnecting
  std::string cookie;         // a browser's session (millrace-api's dashboard)
  std::string expect;
  bool has_content_type = false;
  bool has_authorization = false;
  bool has_event_type = false;
  bool has_accept = false;
  bool has_last_event_id = false;
  bool has_cookie = false;
  std::string body;

  void clear();
};

// Feeds Fields instead of beast::http::request, whose header list allocates
// a node per field. Keeps the first of a repeated header. The body is
// appended to Fields::body unless discard_body() was called: the server
// calls it when it refuses a request after its headers (an unauthenticated
// client), so such a body is read off the connection but never stored, and
// room for a body is made only once the request was let through
// (Fields::body grows as the body arrives, up to the body limit).
class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  // Clears `fields`; sets the header limit (kHeaderLimit) and `body_limit`.
  RequestParser(Fields& fields, std::uint64_t body_limit);

  void discard_body() { discard_body_ = true; }

 private:
  using string_view = boost::beast::string_view;
  using error_code = boost::beast::error_code;

  void on_request_impl(boost::beast::http::verb, string_view method, string_view target, int,
                       error_code&) override;
  void on_response_impl(int, string_view, int, error_code&) override {}
  void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                     error_code&) override;
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(string_view s, error_code&) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view s, error_code&) override;
  void on_finish_impl(error_code&) override {}

  Fields& fields_;
  bool discard_body_ = false;
};

}  // namespace millrace::httpd::detail
