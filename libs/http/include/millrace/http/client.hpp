#pragma once

// The one HTTP client (libcurl behind it): the webhooks' deliveries, the
// object stores' requests and `catalog load`'s downloads go through it. What
// differs between them is said per request, in Options; consumers hold a
// Client& so that their logic is unit-tested against testing::FakeClient.

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/core/failure.hpp"

struct sockaddr;

namespace millrace::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE (others as a custom method)
  std::string url;             // its path and query already encoded
  Headers headers;
  std::string_view body;  // sent with its Content-Length (PUT streams it)
  // A 2xx answer's body goes here in pieces instead of into Response::body.
  // What it throws ends the transfer and is rethrown by perform().
  std::function<void(std::string_view)> on_body;
  // AWS Signature Version 4, computed by libcurl: "aws:amz:<region>:s3" and
  // "<key id>:<secret>"; empty: no signing.
  std::string aws_sigv4;
  std::string aws_user;
};

inline constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();

// Nothing here has a default that suits every consumer: each sets what its
// requests need (the defaults are libcurl's own, or none).
struct Options {
  std::chrono::milliseconds connect_timeout{0};  // 0: libcurl's (300 s)
  std::chrono::milliseconds total_timeout{0};    // the whole exchange, redirects included; 0: none
  // A transfer slower than stall_bytes per second for stall_time is
  // abandoned; 0 s: no stall limit.
  std::chrono::seconds stall_time{0};
  long stall_bytes = 1;
  bool follow_redirects = false;
  long max_redirects = 5;
  std::string ca_file;  // empty: the system's certificates
  // nullopt: libcurl's own choice (the *_proxy environment variables);
  // "": no proxy, whatever the environment says; else this proxy.
  std::optional<std::string> proxy;
  std::string client_certificate;  // PEM files; empty: none
  std::string client_key;
  std::string user_agent;
  bool decode_content = false;  // ask for (and undo) whatever compression libcurl decodes
  // Kept of the answer's body (2xx, and other statuses); the rest is read
  // and dropped, so the connection stays reusable.
  std::size_t keep_body = kUnlimited;
  std::size_t keep_error_body = kUnlimited;
  // A larger body fails the request (Cause::kTooLarge); 0: no limit.
  std::uint64_t max_body = 0;
  // Asked of each connection's address before it is opened: why it is
  // refused (Cause::kRefused), or nullopt to connect.
  std::function<std::optional<std::string>(const sockaddr*)> refuse_address;
};

// Why no (whole) answer came.
enum class Cause {
  kNone,
  kNoAnswer,  // unreachable, reset, timed out, stalled: nothing known of what the server did
  kTooLarge,  // the body passed Options::max_body
  kRefused,   // Options::refuse_address said no
  kUnusable,  // a malformed URL, a scheme other than http(s), too many redirects, a bad option
};

struct Response {
  Cause cause = Cause::kNone;
  std::string error;  // with cause: libcurl's words, or refuse_address's
  long status = 0;
  std::map<std::string, std::string> headers;  // of the last answer, names in lowercase
  std::string body;                            // unless on_body took it
  std::string url;                             // after redirects
  std::optional<std::chrono::seconds> retry_after;

  bool answered() const { return cause == Cause::kNone; }
  bool success() const { return answered() && status >= 200 && status < 300; }
  std::string header(const std::string& lowercase_name) const;
  // The class of a failure (not a success): no answer is retryable; the
  // rest of the causes are fatal; a status is as status_class() says.
  core::FailureClass failure_class() const;
};

// A status that is not 2xx: 5xx, 429 and 408 are retryable, others fatal.
core::FailureClass status_class(long status);

class Client {
 public:
  virtual ~Client() = default;
  // One exchange. Never throws for what the network or the server does:
  // that is the Response's cause or status.
  virtual Response perform(const Request& request, const Options& options) = 0;
};

// libcurl, one easy handle per client: connections are kept and reused
// between its requests. A client is used by one thread at a time.
std::unique_ptr<Client> make_client();

}  // namespace millrace::http
