#include "millrace/http/url.hpp"

#include <curl/curl.h>

#include <memory>
#include <optional>
#include <stdexcept>

namespace millrace::http {

namespace {

struct UrlDelete {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct StringDelete {
  void operator()(char* s) const { curl_free(s); }
};

std::optional<std::string> part(CURLU* url, CURLUPart which) {
  char* raw = nullptr;
  if (curl_url_get(url, which, &raw, 0) != CURLUE_OK || raw == nullptr) return std::nullopt;
  std::unique_ptr<char, StringDelete> owned(raw);
  return std::string(raw);
}

}  // namespace

UrlParts parse_url(std::string_view text) {
  std::unique_ptr<CURLU, UrlDelete> url(curl_url());
  if (!url) throw std::runtime_error("libcurl could not allocate a URL");
  const std::string s(text);
  if (const auto rc = curl_url_set(url.get(), CURLUPART_URL, s.c_str(), 0); rc != CURLUE_OK) {
    throw std::invalid_argument("\"" + s + "\" is not a URL: " + curl_url_strerror(rc));
  }
  UrlParts out;
  out.scheme = part(url.get(), CURLUPART_SCHEME).value_or("");
  out.host = part(url.get(), CURLUPART_HOST).value_or("");
  out.credentials = part(url.get(), CURLUPART_USER).has_value() ||
                    part(url.get(), CURLUPART_PASSWORD).has_value();
  return out;
}

}  // namespace millrace::http
