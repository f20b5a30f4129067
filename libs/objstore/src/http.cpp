#include "http.hpp"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

#include "millrace/objstore/store.hpp"

namespace millrace::objstore::detail {

namespace {

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw StoreError(ErrorKind::kNetwork, "curl_global_init failed");
    }
  });
}

struct EasyDelete {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct ListDelete {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// One request's state as libcurl's callbacks see it.
struct Exchange {
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  std::size_t sent = 0;
  long status = 0;
};

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(TransportOptions options) : options_(std::move(options)) {
    init_curl_once();
    easy_.reset(curl_easy_init());
    if (!easy_) throw StoreError(ErrorKind::kNetwork, "curl_easy_init failed");
  }

  HttpResponse perform(const HttpRequest& request) override {
    CURL* h = easy_.get();
    curl_easy_reset(h);  // keeps the connection
    HttpResponse response;
    Exchange ex{&request, &response, 0, 0};
    std::unique_ptr<curl_slist, ListDelete> headers;
    const auto add = [&](const std::string& line) {
      curl_slist* next = curl_slist_append(headers.get(), line.c_str());
      if (next == nullptr) throw StoreError(ErrorKind::kNetwork, "out of memory");
      (void)headers.release();
      headers.reset(next);
    };
    for (const auto& [name, value] : request.headers) add(name + ": " + value);
    // No 100-continue round trip; no type libcurl would choose itself. Not
    // when libcurl signs: 7.88 signs such an emptied header as sent, though
    // it is not (the S3 store names every type itself instead).
    if (request.aws_sigv4.empty()) {
      add("Expect:");
      if (std::none_of(request.headers.begin(), request.headers.end(), [](const auto& h) {
            return strcasecmp(h.first.c_str(), "content-type") == 0;
          })) {
        add("Content-Type:");
      }
    }
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count() * 1000));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.stall.count()));
    if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(h, CURLOPT_USERAGENT, "millrace-archiver");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &CurlTransport::on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &ex);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &CurlTransport::on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ex);
    if (!request.aws_sigv4.empty()) {
      curl_easy_setopt(h, CURLOPT_AWS_SIGV4, request.aws_sigv4.c_str());
      curl_easy_setopt(h, CURLOPT_USERPWD, request.aws_user.c_str());
    }
    if (request.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (request.method == "PUT") {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, &CurlTransport::on_read);
      curl_easy_setopt(h, CURLOPT_READDATA, &ex);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    } else if (request.method == "POST") {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    } else if (request.method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    const CURLcode rc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    if (rc != CURLE_OK) {
      const std::string why = error[0] != '\0' ? error : curl_easy_strerror(rc);
      throw StoreError(ErrorKind::kNetwork,
                       request.method + " " + strip_query(request.url) + ": no answer: " + why);
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
  }

 private:
  static std::string strip_query(const std::string& url) { return url.substr(0, url.find('?')); }

  static size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto& ex = *static_cast<Exchange*>(user);
    std::string_view line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) {
      // A new response (after a 100 Continue, say): its own headers.
      ex.response->headers.clear();
      const auto space = line.find(' ');
      if (space != std::string_view::npos)
        ex.status = std::atol(std::string(line.substr(space + 1, 3)).c_str());
      return size * n;
    }
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string name(line.substr(0, colon));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() &&
             (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
        value.remove_suffix(1);
      ex.response->headers[name] = std::string(value);
    }
    return size * n;
  }

  static size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto& ex = *static_cast<Exchange*>(user);
    const std::string_view piece(data, size * n);
    if (ex.request->on_body && ex.status >= 200 && ex.status < 300) {
      try {
        ex.request->on_body(piece);
      } catch (...) {
        return 0;  // libcurl ends the transfer with CURLE_WRITE_ERROR
      }
    } else if (ex.response->body.size() < (1u << 20)) {
      ex.response->body.append(piece);
    }
    return size * n;
  }

  static size_t on_read(char* buffer, size_t size, size_t n, void* user) {
    auto& ex = *static_cast<Exchange*>(user);
    const std::size_t left = ex.request->body.size() - ex.sent;
    const std::size_t take = std::min(left, size * n);
    std::memcpy(buffer, ex.request->body.data() + ex.sent, take);
    ex.sent += take;
    return take;
  }

  TransportOptions options_;
  std::unique_ptr<CURL, EasyDelete> easy_;
};

}  // namespace

std::unique_ptr<Transport> curl_transport(const TransportOptions& options) {
  return std::make_unique<CurlTransport>(options);
}

std::string uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string canonical_query(std::vector<std::pair<std::string, std::string>> params) {
  for (auto& [name, value] : params) {
    name = uri_encode(name, false);
    value = uri_encode(value, false);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name + "=" + value;
  }
  return out;
}

}  // namespace millrace::objstore::detail
