#include <utility>

#include "millrace/core/utf8.hpp"
#include "millrace/webhooks/guard.hpp"
#include "sender.hpp"

namespace millrace::webhooks::detail {

namespace {

constexpr std::size_t kKeptResponse = 256;  // of a failed answer's body, for last_error

class HttpSender final : public Sender {
 public:
  HttpSender(const SenderOptions& options, std::unique_ptr<http::Client> client)
      : client_(std::move(client)) {
    options_.connect_timeout = options.timeout;
    options_.total_timeout = options.timeout;
    options_.follow_redirects = false;  // Standard Webhooks: a 3xx is a failure
    options_.proxy = "";                // the *_proxy variables would bypass the guard
    options_.user_agent = options.user_agent;
    options_.keep_body = kKeptResponse;
    options_.keep_error_body = kKeptResponse;
    if (!options.allow_private) {
      options_.refuse_address = [](const sockaddr* address) -> std::optional<std::string> {
        if (const auto range = non_public_range(address)) {
          return "refused to connect to an address in " + *range +
                 " (set MILLRACE_WEBHOOKS_ALLOW_PRIVATE=true to allow private addresses)";
        }
        return std::nullopt;
      };
    }
  }

  AttemptResult post(const Post& post) override {
    http::Request request;
    request.method = "POST";
    request.url = post.url;
    request.headers = post.headers;
    request.body = post.body;
    const http::Response r = client_->perform(request, options_);
    if (!r.answered()) return {std::nullopt, r.error, std::nullopt};
    AttemptResult result{static_cast<int>(r.status), "", r.retry_after};
    // The answer's first bytes go to the delivery's last_error (and an
    // endpoint's disabled reason), PostgreSQL text: a body in another
    // encoding, or a character cut at the end of what is kept, would make
    // the outcome unstorable, and the attempt would be made again and
    // again without its failure ever being recorded.
    if (!r.success()) result.error = core::utf8_safe(r.body);
    return result;
  }

 private:
  http::Options options_;
  std::unique_ptr<http::Client> client_;
};

}  // namespace

std::unique_ptr<Sender> make_http_sender(const SenderOptions& options,
                                         std::unique_ptr<http::Client> client) {
  return std::make_unique<HttpSender>(options, std::move(client));
}

}  // namespace millrace::webhooks::detail
