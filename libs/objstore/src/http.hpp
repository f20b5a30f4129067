#pragma once

// How the S3 and Azure stores reach their servers: through the HTTP client
// (libs/http), a fake one in the unit tests (tests/fake_transport.hpp), with
// the options every request of a store takes.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/http/client.hpp"

namespace millrace::objstore::detail {

struct TransportOptions {
  std::string ca_file;  // empty: the system's certificates
  std::chrono::seconds connect_timeout{10};
  // A transfer slower than 1 byte/s for this long is abandoned.
  std::chrono::seconds stall{60};
};

class Transport {
 public:
  Transport(std::unique_ptr<http::Client> client, const TransportOptions& options);
  // Throws StoreError(kNetwork) when no answer came (nothing is known of
  // what the server did); any answer, 4xx and 5xx included, is returned.
  http::Response perform(const http::Request& request);

 private:
  std::unique_ptr<http::Client> client_;
  http::Options options_;
};

// RFC 3986 percent-encoding of everything but A-Z a-z 0-9 - _ . ~ (and '/'
// when `keep_slash`), uppercase hex: what SigV4's canonical request and
// Azure's URLs expect.
std::string uri_encode(std::string_view text, bool keep_slash);

// Query parameters as SigV4 canonicalises them: names sorted, names and
// values uri_encode()d, "name=" for an empty value. libcurl 7.88 signs the
// query as it is given, so the stores build it in this form.
std::string canonical_query(std::vector<std::pair<std::string, std::string>> params);

}  // namespace millrace::objstore::detail
