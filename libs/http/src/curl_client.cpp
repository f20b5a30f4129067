// The Client over libcurl. The easy handle and header lists are held by
// unique_ptrs with deleters and never leave this file.

#include <curl/curl.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>

#include "millrace/http/client.hpp"

namespace millrace::http {

namespace {

using core::FailureClass;
using core::InfraError;

// libcurl's global state, set up once before any handle (curl_global_init is
// not thread-safe on its own).
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw InfraError(FailureClass::kFatal, "curl_global_init failed");
    }
  });
}

struct EasyDelete {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct ListDelete {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// One exchange's state as libcurl's callbacks see it.
struct Exchange {
  const Request& request;
  const Options& options;
  Response& response;
  std::size_t sent = 0;
  std::uint64_t received = 0;
  bool too_large = false;
  std::string refused;
  std::exception_ptr thrown;  // by on_body: it must not cross libcurl's C frames
};

bool unusable(CURLcode rc) {
  switch (rc) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_UNKNOWN_OPTION:
      return true;
    default:
      return false;
  }
}

class CurlClient final : public Client {
 public:
  CurlClient() {
    init_curl_once();
    easy_.reset(curl_easy_init());
    if (!easy_) throw InfraError(FailureClass::kFatal, "curl_easy_init failed");
  }

  Response perform(const Request& request, const Options& options) override {
    CURL* h = easy_.get();
    // Options persist on the handle: everything is set again per request,
    // and the handle (with its connections) is kept.
    curl_easy_reset(h);
    Response response;
    Exchange ex{request, options, response, 0, 0, false, {}, {}};
    std::unique_ptr<curl_slist, ListDelete> headers;
    bool listed = true;
    const auto add = [&](const std::string& line) {
      curl_slist* next = curl_slist_append(headers.get(), line.c_str());
      if (next == nullptr) {
        listed = false;
        return;
      }
      (void)headers.release();
      headers.reset(next);
    };
    for (const auto& [name, value] : request.headers) add(name + ": " + value);
    // No 100-continue round trip; no type libcurl would choose itself. Not
    // when libcurl signs: 7.88 signs such an emptied header as sent, though
    // it is not (the S3 store names every type itself instead).
    if (request.aws_sigv4.empty()) {
      add("Expect:");
      if (std::none_of(request.headers.begin(), request.headers.end(), [](const auto& header) {
            return strcasecmp(header.first.c_str(), "content-type") == 0;
          })) {
        add("Content-Type:");
      }
    }
    if (!listed) return failed(response, Cause::kUnusable, "out of memory building headers");

    char error[CURL_ERROR_SIZE] = {0};
    CURLcode set = CURLE_OK;
    const auto opt = [&](CURLoption option, auto value) {
      const CURLcode rc = curl_easy_setopt(h, option, value);
      if (set == CURLE_OK) set = rc;
    };
    opt(CURLOPT_ERRORBUFFER, error);
    opt(CURLOPT_URL, request.url.c_str());
    opt(CURLOPT_PROTOCOLS_STR, "http,https");
    opt(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    opt(CURLOPT_NOSIGNAL, 1L);
    opt(CURLOPT_FOLLOWLOCATION, options.follow_redirects ? 1L : 0L);
    if (options.follow_redirects) opt(CURLOPT_MAXREDIRS, options.max_redirects);
    if (options.connect_timeout.count() > 0) {
      opt(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    }
    if (options.total_timeout.count() > 0) {
      opt(CURLOPT_TIMEOUT_MS, static_cast<long>(options.total_timeout.count()));
    }
    if (options.stall_time.count() > 0) {
      opt(CURLOPT_LOW_SPEED_LIMIT, options.stall_bytes);
      opt(CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.stall_time.count()));
    }
    if (!options.ca_file.empty()) opt(CURLOPT_CAINFO, options.ca_file.c_str());
    if (options.proxy) opt(CURLOPT_PROXY, options.proxy->c_str());
    if (!options.client_certificate.empty()) {
      opt(CURLOPT_SSLCERT, options.client_certificate.c_str());
    }
    if (!options.client_key.empty()) opt(CURLOPT_SSLKEY, options.client_key.c_str());
    if (!options.user_agent.empty()) opt(CURLOPT_USERAGENT, options.user_agent.c_str());
    if (options.decode_content) opt(CURLOPT_ACCEPT_ENCODING, "");
    if (options.max_body > 0) {
      opt(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_body));
    }
    if (options.refuse_address) {
      opt(CURLOPT_OPENSOCKETFUNCTION, &CurlClient::open_socket);
      opt(CURLOPT_OPENSOCKETDATA, &ex);
    }
    opt(CURLOPT_HEADERFUNCTION, &CurlClient::on_header);
    opt(CURLOPT_HEADERDATA, &ex);
    opt(CURLOPT_WRITEFUNCTION, &CurlClient::on_body);
    opt(CURLOPT_WRITEDATA, &ex);
    if (!request.aws_sigv4.empty()) {
      opt(CURLOPT_AWS_SIGV4, request.aws_sigv4.c_str());
      opt(CURLOPT_USERPWD, request.aws_user.c_str());
    }
    if (request.method == "HEAD") {
      opt(CURLOPT_NOBODY, 1L);
    } else if (request.method == "PUT") {
      opt(CURLOPT_UPLOAD, 1L);
      opt(CURLOPT_READFUNCTION, &CurlClient::on_read);
      opt(CURLOPT_READDATA, &ex);
      // libcurl sends a request again on a new connection when the reused
      // one was closed before any answer: it must rewind the body, or fail
      // with "necessary data rewind wasn't possible".
      opt(CURLOPT_SEEKFUNCTION, &CurlClient::on_seek);
      opt(CURLOPT_SEEKDATA, &ex);
      opt(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    } else if (request.method == "POST") {
      opt(CURLOPT_POST, 1L);
      opt(CURLOPT_POSTFIELDS, request.body.data());
      opt(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    } else if (request.method != "GET") {
      opt(CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    opt(CURLOPT_HTTPHEADER, headers.get());
    if (set != CURLE_OK) {
      curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
      return failed(response, Cause::kUnusable,
                    std::string("libcurl refused an option: ") + curl_easy_strerror(set));
    }

    const CURLcode rc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    if (ex.thrown) std::rethrow_exception(ex.thrown);
    if (ex.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      return failed(response, Cause::kTooLarge,
                    "the body is larger than " + std::to_string(options.max_body) + " bytes");
    }
    if (rc != CURLE_OK) {
      if (!ex.refused.empty()) return failed(response, Cause::kRefused, ex.refused);
      return failed(response, unusable(rc) ? Cause::kUnusable : Cause::kNoAnswer,
                    error[0] != '\0' ? error : curl_easy_strerror(rc));
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
    const char* effective = nullptr;
    response.url =
        curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective != nullptr
            ? effective
            : request.url;
    curl_off_t retry_after = 0;
    if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0) {
      response.retry_after = std::chrono::seconds(retry_after);
    }
    return response;
  }

 private:
  static Response failed(Response& response, Cause cause, std::string why) {
    response.cause = cause;
    response.error = std::move(why);
    response.status = 0;
    response.headers.clear();
    response.body.clear();
    return std::move(response);
  }

  static size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto& ex = *static_cast<Exchange*>(user);
    std::string_view line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) {
      // A new response (after a 100 Continue or a redirect): its own headers.
      ex.response.headers.clear();
      const auto space = line.find(' ');
      if (space != std::string_view::npos) {
        ex.response.status = std::atol(std::string(line.substr(space + 1, 3)).c_str());
      }
      return size * n;
    }
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string name(line.substr(0, colon));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      while (!value.empty() &&
             (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
        value.remove_suffix(1);
      }
      ex.response.headers[name] = std::string(value);
    }
    return size * n;
  }

  static size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto& ex = *static_cast<Exchange*>(user);
    const std::string_view piece(data, size * n);
    ex.received += piece.size();
    if (ex.options.max_body > 0 && ex.received > ex.options.max_body) {
      ex.too_large = true;
      return 0;  // libcurl ends the transfer with CURLE_WRITE_ERROR
    }
    const bool success = ex.response.status >= 200 && ex.response.status < 300;
    if (success && ex.request.on_body) {
      try {
        ex.request.on_body(piece);
      } catch (...) {
        ex.thrown = std::current_exception();  // rethrown by perform()
        return 0;
      }
      return piece.size();
    }
    const std::size_t keep = success ? ex.options.keep_body : ex.options.keep_error_body;
    std::string& body = ex.response.body;
    if (body.size() < keep) body.append(piece.substr(0, keep - body.size()));
    return piece.size();
  }

  static size_t on_read(char* buffer, size_t size, size_t n, void* user) {
    auto& ex = *static_cast<Exchange*>(user);
    const std::size_t left = ex.request.body.size() - ex.sent;
    const std::size_t take = std::min(left, size * n);
    std::memcpy(buffer, ex.request.body.data() + ex.sent, take);
    ex.sent += take;
    return take;
  }

  static int on_seek(void* user, curl_off_t offset, int origin) {
    auto& ex = *static_cast<Exchange*>(user);
    if (origin != SEEK_SET || offset < 0 ||
        static_cast<std::size_t>(offset) > ex.request.body.size()) {
      return CURL_SEEKFUNC_CANTSEEK;
    }
    ex.sent = static_cast<std::size_t>(offset);
    return CURL_SEEKFUNC_OK;
  }

  static curl_socket_t open_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
    auto& ex = *static_cast<Exchange*>(user);
    if (purpose == CURLSOCKTYPE_IPCXN) {
      if (auto why = ex.options.refuse_address(&address->addr)) {
        ex.refused = std::move(*why);
        return CURL_SOCKET_BAD;
      }
    }
    return socket(address->family, address->socktype, address->protocol);
  }

  std::unique_ptr<CURL, EasyDelete> easy_;
};

}  // namespace

std::unique_ptr<Client> make_client() {
  return std::make_unique<CurlClient>();
}

}  // namespace millrace::http
