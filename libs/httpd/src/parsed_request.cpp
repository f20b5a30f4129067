// What a handler sees of a parsed request: its target split, and the headers Fields keeps.
#include "parsed_request.hpp"

#include <boost/beast/core/string.hpp>
#include <stdexcept>
#include <string>

namespace millrace::httpd {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return boost::beast::iequals(boost::beast::string_view(a.data(), a.size()),
                               boost::beast::string_view(b.data(), b.size()));
}

}  // namespace

bool ParsedRequest::expects_continue() const {
  return iequals(fields_.expect, "100-continue");
}

std::string_view ParsedRequest::path() const {
  const std::string_view t = target();
  return t.substr(0, t.find('?'));
}

std::string_view ParsedRequest::query() const {
  const std::string_view t = target();
  const auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

std::optional<std::string_view> ParsedRequest::header(std::string_view name) const {
  const auto pick = [](bool has, const std::string& value) {
    return has ? std::optional<std::string_view>(value) : std::nullopt;
  };
  if (iequals(name, "Content-Type")) {
    return pick(fields_.has_content_type, fields_.content_type);
  }
  if (iequals(name, "Authorization")) {
    return pick(fields_.has_authorization, fields_.authorization);
  }
  if (iequals(name, "X-Event-Type")) {
    return pick(fields_.has_event_type, fields_.event_type);
  }
  if (iequals(name, "Accept")) return pick(fields_.has_accept, fields_.accept);
  if (iequals(name, "Cookie")) return pick(fields_.has_cookie, fields_.cookie);
  if (iequals(name, "Last-Event-ID")) {
    return pick(fields_.has_last_event_id, fields_.last_event_id);
  }
  // Only the headers Fields keeps can be asked for: a handler asking for
  // another is a bug, not a missing header.
  throw std::logic_error("header not kept by the HTTP server: " + std::string(name));
}

}  // namespace millrace::httpd
