// libFuzzer target: HTTP requests as millrace-producer and millrace-api
// read them. The bytes go through the server's own parser
// (src/request_parser.hpp, with its header and body limits) in pieces, as
// they would arrive from a socket, one request after another on one
// connection (keep-alive), and what a handler then reads of each request
// goes through the pure helpers (content type, bearer check, query
// parameters). The first byte chooses the piece size and whether bodies are
// discarded (a request refused before its body).
#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "millrace/httpd/request.hpp"
#include "request_parser.hpp"

namespace {

using millrace::httpd::detail::Fields;
using millrace::httpd::detail::RequestParser;

void check(bool condition) {
  if (!condition) std::abort();
}

constexpr std::uint64_t kBodyLimit = 64 * 1024;

// Feeds `input` to `parser` in pieces of at most `piece` bytes until the
// header (or, with `whole`, the message) is done. False on a parse error or
// when the input ends first.
bool feed(RequestParser& parser, std::string_view& input, std::size_t piece, bool whole) {
  std::size_t shown = 0;  // bytes of `input` the parser has seen and not consumed
  while (whole ? !parser.is_done() : !parser.is_header_done()) {
    if (shown == input.size()) return false;  // the input ends first
    shown = std::min(input.size(), shown + piece);
    boost::beast::error_code ec;
    const std::size_t used = parser.put(boost::asio::buffer(input.data(), shown), ec);
    if (ec && ec != boost::beast::http::error::need_more) return false;
    input.remove_prefix(used);
    shown -= used;
  }
  return true;
}

void read_as_a_handler(const Fields& fields) {
  const std::string_view target = fields.target;
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
  check(path.size() + query.size() <= target.size());
  if (fields.has_content_type) (void)millrace::httpd::body_format(fields.content_type);
  if (fields.has_authorization) {
    const bool matches = millrace::httpd::bearer_matches(fields.authorization, "t0ken");
    // Only "Bearer" (any case), blanks, and the token itself can match.
    if (matches) check(fields.authorization.find("t0ken") != std::string::npos);
  }
  for (const std::string_view name : {"from", "to", "limit", "format", ""}) {
    // A value is a piece of the query itself (a bare name gives "").
    if (const auto value = millrace::httpd::query_param(query, name); value && !value->empty()) {
      check(value->data() >= query.data() &&
            value->data() + value->size() <= query.data() + query.size());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const std::size_t piece = 1 + (flags >> 1);  // 1 to 128 bytes per read
  const bool discard = (flags & 1) != 0;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  Fields fields;
  for (int request = 0; request < 16 && !input.empty(); ++request) {
    RequestParser parser(fields, kBodyLimit);
    if (!feed(parser, input, piece, false)) return 0;
    if (discard) parser.discard_body();
    parser.eager(true);
    if (!feed(parser, input, piece, true)) return 0;
    check(fields.body.size() <= kBodyLimit);
    if (discard) check(fields.body.empty());
    read_as_a_handler(fields);
    if (!parser.keep_alive()) return 0;
  }
  return 0;
}
