#pragma once

// A URL read as the client will read it (libcurl's own parser), so that a
// check made on its parts (the webhooks' guard) holds for the request.

#include <string>
#include <string_view>

namespace millrace::http {

struct UrlParts {
  std::string scheme;        // lowercase
  std::string host;          // an IPv6 address in its brackets
  bool credentials = false;  // a user name or password in the URL
};

// Throws std::invalid_argument ("\"<url>\" is not a URL: <libcurl's words>")
// when `url` does not parse.
UrlParts parse_url(std::string_view url);

}  // namespace millrace::http
