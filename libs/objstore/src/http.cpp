#include "http.hpp"

#include <algorithm>

#include "millrace/objstore/store.hpp"

namespace millrace::objstore::detail {

Transport::Transport(std::unique_ptr<http::Client> client, const TransportOptions& options)
    : client_(std::move(client)) {
  options_.connect_timeout = options.connect_timeout;
  options_.stall_time = options.stall;
  options_.stall_bytes = 1;
  options_.ca_file = options.ca_file;
  options_.follow_redirects = false;
  options_.user_agent = "millrace-archiver";
  options_.keep_error_body = 1u << 20;  // an error's XML, not a runaway body
}

http::Response Transport::perform(const http::Request& request) {
  http::Response r = client_->perform(request, options_);
  if (!r.answered()) {
    throw StoreError(ErrorKind::kNetwork, request.method + " " +
                                              request.url.substr(0, request.url.find('?')) +
                                              ": no answer: " + r.error);
  }
  return r;
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
