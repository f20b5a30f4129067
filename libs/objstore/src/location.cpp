#include "millrace/objstore/location.hpp"

#include <stdexcept>
#include <tuple>

namespace millrace::objstore {

namespace {

[[noreturn]] void bad(const std::string& url, const std::string& why) {
  throw std::invalid_argument("archive URL " + url + ": " + why);
}

// S3's rules for a bucket's name: 3 to 63 of a-z, 0-9, '.' and '-',
// starting and ending with a letter or digit.
bool valid_bucket(const std::string& b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (const char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  }
  const auto edge = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return edge(b.front()) && edge(b.back());
}

// Azure's rules for a container: 3 to 63 of a-z, 0-9 and '-', no "--",
// starting with a letter or digit.
bool valid_container(const std::string& c) {
  if (!valid_bucket(c) || c.find('.') != std::string::npos) return false;
  return c.find("--") == std::string::npos;
}

void check_segments(const std::string& url, const std::string& path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto end = path.find('/', start);
    const auto seg = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (seg == "." || seg == "..") bad(url, "'.' and '..' are not allowed in the prefix");
    if (end == std::string::npos) break;
    start = end + 1;
  }
}

// "bucket/a/b" -> {"bucket", "a/b/"}.
std::pair<std::string, std::string> split_first(const std::string& rest) {
  const auto slash = rest.find('/');
  if (slash == std::string::npos) return {rest, ""};
  return {rest.substr(0, slash), normalise_prefix(rest.substr(slash + 1))};
}

}  // namespace

std::string normalise_prefix(std::string prefix) {
  while (!prefix.empty() && prefix.front() == '/') prefix.erase(0, 1);
  while (prefix.size() >= 2 && prefix[prefix.size() - 1] == '/' && prefix[prefix.size() - 2] == '/')
    prefix.pop_back();
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  return prefix;
}

std::string Location::url() const {
  switch (kind) {
    case Kind::kDirectory:
      return "file://" + path;
    case Kind::kS3:
      return "s3://" + container + "/" + prefix;
    case Kind::kAzureBlob:
      return endpoint + "/" + container + "/" + prefix;
  }
  return path;
}

Location parse_location(const std::string& url) {
  Location out;
  if (url.empty()) bad(url, "empty");
  if (url.front() == '/' || url.rfind("file://", 0) == 0) {
    out.kind = Location::Kind::kDirectory;
    out.path = url.front() == '/' ? url : url.substr(7);
    if (out.path.empty() || out.path.front() != '/') {
      bad(url, "a file:// URL needs an absolute path (file:///var/lib/millrace/archive)");
    }
    return out;
  }
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    bad(url,
        "not a URL: use file:///path, s3://bucket/prefix or azblob://account/container/prefix");
  }
  const std::string scheme = url.substr(0, scheme_end);
  const std::string rest = url.substr(scheme_end + 3);
  if (rest.find_first_of("?#") != std::string::npos) {
    bad(url,
        "a query or fragment is not allowed (a SAS token goes in its file, "
        "MILLRACE_AZURE_SAS_FILE)");
  }
  if (scheme == "s3") {
    out.kind = Location::Kind::kS3;
    std::tie(out.container, out.prefix) = split_first(rest);
    if (!valid_bucket(out.container)) {
      bad(url, "'" + out.container +
                   "' is not a bucket name S3 accepts (3 to 63 of a-z, 0-9, '.' and '-', starting "
                   "and ending with a letter or digit)");
    }
  } else if (scheme == "azblob") {
    out.kind = Location::Kind::kAzureBlob;
    const auto [account, path] = split_first(rest);
    if (account.empty()) bad(url, "no storage account (azblob://account/container/prefix)");
    out.account = account;
    out.endpoint = "https://" + account + ".blob.core.windows.net";
    std::tie(out.container, out.prefix) = split_first(path);
  } else if (scheme == "https" || scheme == "http") {
    out.kind = Location::Kind::kAzureBlob;
    const auto host_end = rest.find('/');
    const std::string host = rest.substr(0, host_end);
    const std::string path = host_end == std::string::npos ? "" : rest.substr(host_end + 1);
    if (host.empty()) bad(url, "no host");
    const auto blob = host.find(".blob.");
    if (blob != std::string::npos) {
      out.account = host.substr(0, blob);
      out.endpoint = scheme + "://" + host;
      std::tie(out.container, out.prefix) = split_first(path);
    } else {
      // An emulator's or a custom domain's path-style URL: the account first.
      const auto [account, after] = split_first(path);
      if (account.empty()) {
        bad(url,
            "no storage account: a Blob URL is https://<account>.blob.core.windows.net/"
            "<container>/<prefix>, or http://host:port/<account>/<container>/<prefix> for "
            "an emulator");
      }
      out.account = account;
      out.endpoint = scheme + "://" + host + "/" + account;
      std::tie(out.container, out.prefix) = split_first(after);
    }
  } else {
    bad(url, "unknown scheme '" + scheme +
                 "': use file:///path, s3://bucket/prefix or azblob://account/container/prefix");
  }
  if (out.kind == Location::Kind::kAzureBlob && !valid_container(out.container)) {
    bad(url, "'" + out.container +
                 "' is not a container name Azure accepts (3 to 63 of a-z, 0-9 and '-', starting "
                 "with a letter or digit, no '--')");
  }
  check_segments(url, out.prefix);
  return out;
}

}  // namespace millrace::objstore
