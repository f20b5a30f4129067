#include "millrace/catalog/fetch.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include "millrace/core/failure.hpp"

namespace millrace::catalog {

using core::FailureClass;
using core::InfraError;

namespace {

struct EasyDelete {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

struct Transfer {
  std::string body;
  std::uint64_t max_bytes = 0;
  bool too_large = false;
};

std::size_t on_data(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  if (t->body.size() + bytes > t->max_bytes) {
    t->too_large = true;
    return 0;  // curl ends the transfer with CURLE_WRITE_ERROR
  }
  t->body.append(data, bytes);
  return bytes;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void set(CURL* c, CURLoption option, auto value) {
  if (curl_easy_setopt(c, option, value) != CURLE_OK) {
    throw InfraError(FailureClass::kFatal, "libcurl refused an option");
  }
}

}  // namespace

bool is_url(std::string_view text) {
  const auto l = lower(text.substr(0, 8));
  return l.rfind("http://", 0) == 0 || l.rfind("https://", 0) == 0;
}

Fetched fetch(const std::string& url, const FetchLimits& limits) {
  static std::once_flag global;
  std::call_once(global, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, EasyDelete> easy(curl_easy_init());
  if (!easy) throw InfraError(FailureClass::kFatal, "curl_easy_init failed");
  CURL* c = easy.get();
  Transfer t;
  t.max_bytes = limits.max_bytes;
  char error[CURL_ERROR_SIZE] = {};
  set(c, CURLOPT_ERRORBUFFER, error);
  set(c, CURLOPT_URL, url.c_str());
  set(c, CURLOPT_PROTOCOLS_STR, "http,https");
  set(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(c, CURLOPT_FOLLOWLOCATION, 1L);
  set(c, CURLOPT_MAXREDIRS, 5L);
  set(c, CURLOPT_SSL_VERIFYPEER, 1L);
  set(c, CURLOPT_SSL_VERIFYHOST, 2L);
  set(c, CURLOPT_TIMEOUT_MS, static_cast<long>(limits.timeout.count()));
  set(c, CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(std::min<std::int64_t>(limits.timeout.count(), 10000)));
  set(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits.max_bytes));
  set(c, CURLOPT_NOSIGNAL, 1L);
  set(c, CURLOPT_ACCEPT_ENCODING, "");  // whatever this libcurl decodes
  set(c, CURLOPT_USERAGENT, "millrace-catalog-load");
  set(c, CURLOPT_WRITEFUNCTION, on_data);
  set(c, CURLOPT_WRITEDATA, &t);

  const CURLcode rc = curl_easy_perform(c);
  if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    throw InfraError(FailureClass::kFatal, url + ": the body is larger than the cap of " +
                                               std::to_string(limits.max_bytes) +
                                               " bytes (--max-bytes)");
  }
  if (rc != CURLE_OK) {
    const std::string why = error[0] != '\0' ? error : curl_easy_strerror(rc);
    const bool fatal = rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
                       rc == CURLE_TOO_MANY_REDIRECTS;
    throw InfraError(fatal ? FailureClass::kFatal : FailureClass::kRetryable, url + ": " + why);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    const bool retry = status >= 500 || status == 429 || status == 408;
    throw InfraError(retry ? FailureClass::kRetryable : FailureClass::kFatal,
                     url + ": the server answered HTTP " + std::to_string(status));
  }
  Fetched out;
  out.body = std::move(t.body);
  const char* type = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != nullptr) {
    out.content_type = type;
  }
  const char* effective = nullptr;
  out.url =
      curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective != nullptr
          ? effective
          : url;
  return out;
}

std::optional<Format> format_of_content_type(std::string_view content_type) {
  std::string type = lower(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back()))) type.pop_back();
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.front()))) type.erase(0, 1);
  if (type == "text/csv" || type == "application/csv") return Format::kCsv;
  if (type == "application/x-ndjson" || type == "application/ndjson" ||
      type == "application/jsonl" || type == "application/x-jsonlines" ||
      type == "application/json-seq" || type == "application/json") {
    return Format::kNdjson;
  }
  return std::nullopt;
}

}  // namespace millrace::catalog
