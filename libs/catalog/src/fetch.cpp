#include "millrace/catalog/fetch.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <utility>

#include "millrace/core/failure.hpp"

namespace millrace::catalog {

using core::FailureClass;
using core::InfraError;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

bool is_url(std::string_view text) {
  const auto l = lower(text.substr(0, 8));
  return l.rfind("http://", 0) == 0 || l.rfind("https://", 0) == 0;
}

Fetched fetch(http::Client& client, const std::string& url, const FetchLimits& limits) {
  http::Options o;
  o.follow_redirects = true;
  o.max_redirects = 5;
  o.total_timeout = limits.timeout;
  o.connect_timeout = std::min(limits.timeout, std::chrono::milliseconds(10000));
  o.max_body = limits.max_bytes;
  o.decode_content = true;  // whatever this libcurl decodes
  o.user_agent = "millrace-catalog-load";
  http::Request request;
  request.url = url;
  http::Response r = client.perform(request, o);
  if (r.cause == http::Cause::kTooLarge) {
    throw InfraError(FailureClass::kFatal, url + ": the body is larger than the cap of " +
                                               std::to_string(limits.max_bytes) +
                                               " bytes (--max-bytes)");
  }
  if (!r.answered()) throw InfraError(r.failure_class(), url + ": " + r.error);
  if (!r.success()) {
    throw InfraError(r.failure_class(),
                     url + ": the server answered HTTP " + std::to_string(r.status));
  }
  return {std::move(r.body), r.header("content-type"), r.url.empty() ? url : r.url};
}

Fetched fetch(const std::string& url, const FetchLimits& limits) {
  return fetch(*http::make_client(), url, limits);
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
