#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>

#include "millrace/webhooks/guard.hpp"
#include "sender.hpp"

namespace millrace::webhooks::detail {

namespace {

// libcurl's global state, set up once before any handle (curl_global_init is
// not thread-safe on its own).
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
  });
}

struct EasyDelete {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct ListDelete {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

constexpr std::size_t kKeptResponse = 256;  // of a failed answer's body, for last_error

class CurlSender final : public Sender {
 public:
  explicit CurlSender(const SenderOptions& options) : options_(options) {
    init_curl_once();
    easy_.reset(curl_easy_init());
    if (!easy_) throw std::runtime_error("curl_easy_init failed");
  }

  AttemptResult post(const Post& request) override {
    CURL* h = easy_.get();
    // Options persist on the handle; everything is set again per request
    // except what keeps its connections (the handle itself).
    curl_easy_reset(h);
    std::unique_ptr<curl_slist, ListDelete> headers;
    for (const auto& [name, value] : request.headers) {
      const std::string line = name + ": " + value;
      curl_slist* next = curl_slist_append(headers.get(), line.c_str());
      if (next == nullptr) return {std::nullopt, "out of memory building headers", std::nullopt};
      (void)headers.release();
      headers.reset(next);
    }
    response_.clear();
    refused_.clear();
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &CurlSender::on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, &CurlSender::open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, this);

    const CURLcode rc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    if (rc != CURLE_OK) {
      std::string why =
          !refused_.empty() ? refused_ : (error[0] != 0 ? error : curl_easy_strerror(rc));
      return {std::nullopt, why, std::nullopt};
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    AttemptResult result{static_cast<int>(status), "", std::nullopt};
    curl_off_t retry_after = 0;
    if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0) {
      result.retry_after = std::chrono::seconds(retry_after);
    }
    if (status < 200 || status >= 300) result.error = response_;
    return result;
  }

 private:
  static size_t on_body(char* data, size_t size, size_t count, void* self_ptr) {
    auto* self = static_cast<CurlSender*>(self_ptr);
    const std::size_t n = size * count;
    if (self->response_.size() < kKeptResponse) {
      self->response_.append(data, std::min(n, kKeptResponse - self->response_.size()));
    }
    return n;  // the rest is read and dropped, so the connection stays reusable
  }

  static curl_socket_t open_socket(void* self_ptr, curlsocktype purpose, curl_sockaddr* address) {
    auto* self = static_cast<CurlSender*>(self_ptr);
    if (purpose == CURLSOCKTYPE_IPCXN && !self->options_.allow_private) {
      if (const auto range = non_public_range(&address->addr)) {
        self->refused_ = "refused to connect to an address in " + *range +
                         " (set MILLRACE_WEBHOOKS_ALLOW_PRIVATE=true to allow private addresses)";
        return CURL_SOCKET_BAD;
      }
    }
    return socket(address->family, address->socktype, address->protocol);
  }

  SenderOptions options_;
  std::unique_ptr<CURL, EasyDelete> easy_;
  std::string response_;
  std::string refused_;
};

}  // namespace

std::unique_ptr<Sender> make_curl_sender(const SenderOptions& options) {
  return std::make_unique<CurlSender>(options);
}

}  // namespace millrace::webhooks::detail
