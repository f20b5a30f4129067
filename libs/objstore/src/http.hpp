#pragma once

// The one HTTP exchange the stores make, behind an interface so that their
// request shapes and their answers' handling are unit-tested against a fake
// (tests/fake_transport.hpp) and only curl_transport() talks to a server.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace millrace::objstore::detail {

struct HttpRequest {
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  std::string url;     // its path and query already encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;  // sent with its Content-Length (none when empty and not PUT/POST)
  // A 2xx answer's body goes here in pieces instead of into the response.
  std::function<void(std::string_view)> on_body;
  // AWS Signature Version 4, computed by libcurl: "aws:amz:<region>:s3" and
  // "<key id>:<secret>"; empty: no signing.
  std::string aws_sigv4;
  std::string aws_user;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names in lowercase
  std::string body;                            // unless on_body took it

  std::string header(const std::string& lowercase_name) const {
    const auto it = headers.find(lowercase_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Throws StoreError(kNetwork) when no answer came (nothing is known of
  // what the server did); any answer, 4xx and 5xx included, is returned.
  virtual HttpResponse perform(const HttpRequest& request) = 0;
};

struct TransportOptions {
  std::string ca_file;  // empty: the system's certificates
  std::chrono::seconds connect_timeout{10};
  // A transfer slower than 1 byte/s for this long is abandoned.
  std::chrono::seconds stall{60};
};

std::unique_ptr<Transport> curl_transport(const TransportOptions& options);

// RFC 3986 percent-encoding of everything but A-Z a-z 0-9 - _ . ~ (and '/'
// when `keep_slash`), uppercase hex: what SigV4's canonical request and
// Azure's URLs expect.
std::string uri_encode(std::string_view text, bool keep_slash);

// Query parameters as SigV4 canonicalises them: names sorted, names and
// values uri_encode()d, "name=" for an empty value. libcurl 7.88 signs the
// query as it is given, so the stores build it in this form.
std::string canonical_query(std::vector<std::pair<std::string, std::string>> params);

}  // namespace millrace::objstore::detail
