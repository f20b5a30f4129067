#include "request_parser.hpp"

namespace millrace::httpd::detail {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

void Fields::clear() {
  method.clear();
  target.clear();
  content_type.clear();
  authorization.clear();
  event_type.clear();
  accept.clear();
  last_event_id.clear();
  expect.clear();
  cookie.clear();
  has_content_type = has_authorization = has_event_type = has_accept = has_last_event_id =
      has_cookie = false;
  body.clear();
}

RequestParser::RequestParser(Fields& fields, std::uint64_t body_limit) : fields_(fields) {
  fields_.clear();
  header_limit(kHeaderLimit);
  this->body_limit(body_limit);
}

void RequestParser::on_request_impl(bhttp::verb, string_view method, string_view target, int,
                                    error_code&) {
  fields_.method.assign(method.data(), method.size());
  fields_.target.assign(target.data(), target.size());
}

void RequestParser::on_field_impl(bhttp::field name, string_view name_string, string_view value,
                                  error_code&) {
  const auto keep = [&](std::string& into, bool& has) {
    if (has) return;  // the first of a repeated header
    has = true;
    into.assign(value.data(), value.size());
  };
  switch (name) {
    case bhttp::field::content_type:
      return keep(fields_.content_type, fields_.has_content_type);
    case bhttp::field::authorization:
      return keep(fields_.authorization, fields_.has_authorization);
    case bhttp::field::accept:
      return keep(fields_.accept, fields_.has_accept);
    case bhttp::field::cookie:
      return keep(fields_.cookie, fields_.has_cookie);
    case bhttp::field::expect:
      fields_.expect.assign(value.data(), value.size());
      return;
    default:
      if (beast::iequals(name_string, "X-Event-Type")) {
        keep(fields_.event_type, fields_.has_event_type);
      } else if (beast::iequals(name_string, "Last-Event-ID")) {
        keep(fields_.last_event_id, fields_.has_last_event_id);
      }
  }
}

std::size_t RequestParser::on_body_impl(string_view s, error_code&) {
  if (!discard_body_) fields_.body.append(s.data(), s.size());
  return s.size();
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, string_view s, error_code&) {
  if (!discard_body_) fields_.body.append(s.data(), s.size());
  return s.size();
}

}  // namespace millrace::httpd::detail
