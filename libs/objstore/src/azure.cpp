#include "azure.hpp"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <stdexcept>
#include <utility>
#include <vector>

#include "common.hpp"
#include "digest.hpp"
#include "millrace/core/base64.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/http/client.hpp"
#include "millrace/runtime/retry.hpp"
#include "xml.hpp"

namespace millrace::objstore::detail {

namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kVersion = "2021-08-06";
// A blob has 50,000 blocks at most.
constexpr int kMaxBlocks = 50000;
// A copy the service reports pending is polled this often, this long.
constexpr auto kCopyPoll = std::chrono::milliseconds(200);
constexpr auto kCopyPatience = std::chrono::minutes(10);

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string header_of(const Params& headers, const char* name) {
  for (const auto& [n, v] : headers) {
    if (strcasecmp(n.c_str(), name) == 0) return v;
  }
  return {};
}

std::string http_date() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return text;
}

// The tag of put_file()'s blocks.
constexpr const char* kPutTag = "millrace";

// A block's id: the upload's tag and the part's number, padded to one
// length (every block of a blob, committed or not, must have the same),
// base64.
std::string block_id(const std::string& tag, int n) {
  char text[32];
  std::snprintf(text, sizeof text, "%-16.16s-%06d", tag.c_str(), n);
  return core::base64(text);
}

// The part number of block `id` when it is one of `tag`'s; 0 otherwise.
int part_of(const std::string& id, const std::string& tag) {
  std::string text;
  if (!core::unbase64(id, text) || text.size() != 23) return 0;
  char mine[32];
  std::snprintf(mine, sizeof mine, "%-16.16s-", tag.c_str());
  if (text.compare(0, 17, mine) != 0) return 0;
  int n = 0;
  for (std::size_t i = 17; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return 0;
    n = n * 10 + (text[i] - '0');
  }
  return n;
}

class AzureStore final : public ObjectStore {
 public:
  AzureStore(Location location, AzureSettings settings, Transport transport)
      : location_(std::move(location)),
        settings_(std::move(settings)),
        transport_(std::move(transport)) {
    // The path part of the endpoint ("/devstoreaccount1" for an emulator).
    const auto scheme = location_.endpoint.find("://");
    const auto slash = location_.endpoint.find('/', scheme + 3);
    endpoint_path_ = slash == std::string::npos ? "" : location_.endpoint.substr(slash);
  }

  std::string describe() const override { return location_.url(); }

  void put_file(const std::string& key, const std::string& path) override {
    const std::int64_t size = local_file_size(path);
    const std::int64_t part_bytes = part_size_for(size);
    if (size <= part_bytes) {
      for_each_part(path, part_bytes, [&](std::string_view body, int) {
        const std::string md5 = core::base64(md5_raw(body));
        const auto r = call("PUT", blob_path(key), {}, body,
                            {{"x-ms-blob-type", "BlockBlob"}, {"Content-MD5", md5}});
        expect(r, "Put Blob", key);
        check_echo(r, md5, "Put Blob", key);
      });
      return;
    }
    const Unfinished upload = begin_upload(key, kPutTag);
    std::vector<std::string> ids;
    for_each_part(path, part_bytes, [&](std::string_view part, int n) {
      ids.push_back(upload_part(upload, n, part));
    });
    complete_upload(upload, ids);
  }

  Unfinished begin_upload(const std::string& key, const std::string& tag) override {
    if (tag.empty() || tag.size() > 16) {
      throw std::logic_error("an Azure upload's tag has 1 to 16 characters: '" + tag + "'");
    }
    return {key, tag};
  }

  std::int64_t part_size_for(std::int64_t size) const override {
    return grown_part_size(size, settings_.part_bytes, kMaxBlocks);
  }

  std::string upload_part(const Unfinished& upload, int n, std::string_view part) override {
    const std::string md5 = core::base64(md5_raw(part));
    const std::string id = block_id(upload.id, n);
    const auto r = call("PUT", blob_path(upload.key), {{"comp", "block"}, {"blockid", id}}, part,
                        {{"Content-MD5", md5}});
    expect(r, "Put Block " + std::to_string(n), upload.key);
    check_echo(r, md5, "Put Block " + std::to_string(n), upload.key);
    return id;
  }

  void complete_upload(const Unfinished& upload, const std::vector<std::string>& ids) override {
    std::string list = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
    for (const auto& id : ids) list += "<Latest>" + id + "</Latest>";
    list += "</BlockList>";
    const auto r = call("PUT", blob_path(upload.key), {{"comp", "blocklist"}}, list,
                        {{"Content-MD5", core::base64(md5_raw(list))}});
    // A block the list names is gone: discarded by another commit of the
    // blob, or by Azure after a week.
    if (r.status == 400 && error_code(r) == "InvalidBlockList") {
      throw StoreError(ErrorKind::kNotFound,
                       "Azure Put Block List " + where(upload.key) + ": " + error_text(r));
    }
    expect(r, "Put Block List", upload.key);
  }

  std::optional<std::vector<std::string>> uploaded_parts(const Unfinished& upload) override {
    const auto blocks = uncommitted_blocks(upload.key);
    std::vector<std::string> out;
    for (const auto& id : blocks) {
      const int n = part_of(id, upload.id);
      if (n == 0) continue;
      if (out.size() < static_cast<std::size_t>(n)) out.resize(static_cast<std::size_t>(n));
      out[static_cast<std::size_t>(n) - 1] = id;
    }
    if (out.empty()) return std::nullopt;
    return out;
  }

  std::optional<std::int64_t> size_of(const std::string& key) override {
    const auto r = call("HEAD", blob_path(key), {}, "", {});
    if (r.status == 404) return std::nullopt;
    expect(r, "Get Blob Properties", key);
    try {
      return std::stoll(r.header("content-length"));
    } catch (const std::exception&) {
      throw StoreError(ErrorKind::kRefused,
                       "Azure Get Blob Properties " + where(key) + ": no Content-Length");
    }
  }

  void read(const std::string& key, const std::function<void(std::string_view)>& sink) override {
    const auto r = call("GET", blob_path(key), {}, "", {}, sink);
    expect(r, "Get Blob", key);
  }

  void copy(const std::string& from, const std::string& to) override {
    std::string source = location_.endpoint + blob_path(from).substr(endpoint_path_.size());
    if (!settings_.sas.empty()) source += "?" + settings_.sas;
    auto r = call("PUT", blob_path(to), {}, "", {{"x-ms-copy-source", source}});
    if (r.status == 404) {
      throw StoreError(ErrorKind::kNotFound,
                       "Azure Copy Blob of " + where(from) + ": " + error_text(r));
    }
    expect(r, "Copy Blob (from " + from + ")", to);
    // Within one account the copy is usually done when answered; otherwise
    // it is polled until it ends, with the one retry primitive.
    std::string status = r.header("x-ms-copy-status");
    if (status == "pending") {
      bool pending = false;  // the last try's end: still pending, or another failure
      try {
        runtime::Retry(runtime::Backoff::fixed(kCopyPoll))
            .until(std::chrono::steady_clock::now() + kCopyPatience)
            .run([&] {
              pending = false;
              r = call("HEAD", blob_path(to), {}, "", {});
              expect(r, "Get Blob Properties (copy status)", to);
              status = r.header("x-ms-copy-status");
              pending = status == "pending";
              if (pending) throw core::InfraError(core::FailureClass::kRetryable, "copy pending");
            });
      } catch (const core::InfraError&) {
        if (!pending) throw;
        throw StoreError(ErrorKind::kServer,
                         "Azure Copy Blob to " + where(to) + " still pending after 10 minutes");
      }
    }
    if (!status.empty() && status != "success") {
      throw StoreError(ErrorKind::kServer, "Azure Copy Blob to " + where(to) + ": copy " + status +
                                               ": " + r.header("x-ms-copy-status-description"));
    }
  }

  void remove(const std::string& key) override {
    const auto r = call("DELETE", blob_path(key), {}, "", {});
    if (r.status == 404) return;
    expect(r, "Delete Blob", key);
  }

  std::vector<ObjectInfo> list(const std::string& prefix) override {
    std::vector<ObjectInfo> out;
    list_blobs(prefix, false, [&](const XmlNode& blob) {
      ObjectInfo info;
      info.key = relative(blob.text_of("Name"));
      const auto* props = blob.child("Properties");
      try {
        info.size = props == nullptr ? -1 : std::stoll(props->text_of("Content-Length"));
      } catch (const std::exception&) {
        info.size = -1;
      }
      out.push_back(std::move(info));
    });
    return out;
  }

  // Blobs with uncommitted blocks only: listed with include=uncommittedblobs
  // but not without.
  std::vector<Unfinished> unfinished(const std::string& prefix) override {
    std::vector<std::string> committed, all;
    list_blobs(prefix, false, [&](const XmlNode& b) { committed.push_back(b.text_of("Name")); });
    list_blobs(prefix, true, [&](const XmlNode& b) { all.push_back(b.text_of("Name")); });
    std::sort(committed.begin(), committed.end());
    std::vector<Unfinished> out;
    for (const auto& name : all) {
      if (!std::binary_search(committed.begin(), committed.end(), name)) {
        out.push_back({relative(name), ""});
      }
    }
    return out;
  }

  // Committing an empty block list discards the uncommitted blocks; the
  // empty blob it leaves is then deleted.
  void abort(const Unfinished& upload) override {
    if (size_of(upload.key)) return;  // committed since: not unfinished
    if (!upload.id.empty()) {
      // Discarding drops every uncommitted block of the blob: only when
      // they are all this upload's.
      const auto blocks = uncommitted_blocks(upload.key);
      for (const auto& id : blocks) {
        if (part_of(id, upload.id) == 0) return;
      }
      if (blocks.empty()) return;
    }
    const std::string list = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList></BlockList>";
    const auto r = call("PUT", blob_path(upload.key), {{"comp", "blocklist"}}, list, {});
    expect(r, "Put Block List (empty, to discard blocks)", upload.key);
    remove(upload.key);
  }

  void check() override {
    const auto r = call("GET", container_path(),
                        {{"restype", "container"},
                         {"comp", "list"},
                         {"maxresults", "1"},
                         {"prefix", location_.prefix}},
                        "", {});
    expect(r, "List Blobs", "");
  }

 private:
  // The ids of the blob's uncommitted blocks; none when there is no blob.
  std::vector<std::string> uncommitted_blocks(const std::string& key) {
    const auto r = call("GET", blob_path(key),
                        {{"comp", "blocklist"}, {"blocklisttype", "uncommitted"}}, "", {});
    if (r.status == 404) return {};
    expect(r, "Get Block List", key);
    XmlNode doc;
    try {
      doc = parse_xml(r.body);
    } catch (const std::runtime_error& e) {
      throw StoreError(ErrorKind::kServer, "Azure Get Block List " + where(key) + ": " + e.what());
    }
    std::vector<std::string> out;
    if (const auto* blocks = doc.child("UncommittedBlocks")) {
      for (const auto& b : blocks->children) {
        if (b.name == "Block") out.push_back(b.text_of("Name"));
      }
    }
    return out;
  }

  std::string container_path() const { return endpoint_path_ + "/" + location_.container; }
  std::string blob_path(const std::string& key) const {
    return container_path() + "/" + uri_encode(location_.prefix + key, true);
  }
  std::string where(const std::string& key) const {
    return location_.endpoint + "/" + location_.container + "/" + location_.prefix + key;
  }
  std::string relative(const std::string& full) const {
    return full.rfind(location_.prefix, 0) == 0 ? full.substr(location_.prefix.size()) : full;
  }

  void list_blobs(const std::string& prefix, bool uncommitted,
                  const std::function<void(const XmlNode&)>& each) {
    std::string marker;
    for (;;) {
      Params q{{"restype", "container"}, {"comp", "list"}, {"prefix", location_.prefix + prefix}};
      if (uncommitted) q.emplace_back("include", "uncommittedblobs");
      if (!marker.empty()) q.emplace_back("marker", marker);
      const auto r = call("GET", container_path(), q, "", {});
      expect(r, "List Blobs", prefix);
      XmlNode doc;
      try {
        doc = parse_xml(r.body);
      } catch (const std::runtime_error& e) {
        throw StoreError(ErrorKind::kServer, "Azure List Blobs " + where(prefix) + ": " + e.what());
      }
      if (const auto* blobs = doc.child("Blobs")) {
        for (const auto& b : blobs->children) {
          if (b.name == "Blob") each(b);
        }
      }
      marker = doc.text_of("NextMarker");
      if (marker.empty()) break;
    }
  }

  http::Response call(const std::string& method, const std::string& path, const Params& query,
                      std::string_view body, Params headers,
                      const std::function<void(std::string_view)>& sink = {}) {
    headers.emplace_back("x-ms-date",
                         settings_.fixed_date.empty() ? http_date() : settings_.fixed_date);
    headers.emplace_back("x-ms-version", kVersion);
    std::string url = location_.endpoint + path.substr(endpoint_path_.size());
    std::string q;
    for (const auto& [n, v] : query) {
      q += (q.empty() ? "" : "&") + uri_encode(n, false) + "=" + uri_encode(v, false);
    }
    if (!settings_.sas.empty()) q += (q.empty() ? "" : "&") + settings_.sas;
    if (!q.empty()) url += "?" + q;
    if (settings_.sas.empty()) {
      AzureSigned s{method, location_.account, path, query, headers, body.size()};
      const std::string signature =
          core::base64(hmac_sha256(settings_.shared_key, azure_string_to_sign(s)));
      headers.emplace_back("Authorization", "SharedKey " + location_.account + ":" + signature);
    }
    http::Request req;
    req.method = method;
    req.url = url;
    req.headers = std::move(headers);
    req.body = body;
    req.on_body = sink;
    return transport_.perform(req);
  }

  std::string error_code(const http::Response& r) const {
    std::string code = r.header("x-ms-error-code");
    if (code.empty() && !r.body.empty()) {
      try {
        const auto doc = parse_xml(r.body);
        if (doc.name == "Error") code = doc.text_of("Code");
      } catch (const std::runtime_error&) {
      }
    }
    return code;
  }

  std::string error_text(const http::Response& r) const {
    std::string message;
    if (!r.body.empty()) {
      try {
        const auto doc = parse_xml(r.body);
        if (doc.name == "Error") message = doc.text_of("Message");
      } catch (const std::runtime_error&) {
        message = r.body.substr(0, 200);
      }
    }
    // Azure's messages end with the request id and time on lines of their own.
    message = message.substr(0, message.find('\n'));
    return status_text(r.status, error_code(r), message);
  }

  void expect(const http::Response& r, const std::string& what, const std::string& key) const {
    if (r.status >= 200 && r.status < 300) return;
    throw StoreError(kind_of(r.status, error_code(r)),
                     "Azure " + what + " " + where(key) + ": " + error_text(r));
  }

  // The service echoes the Content-MD5 it computed of what it received.
  void check_echo(const http::Response& r, const std::string& md5, const std::string& what,
                  const std::string& key) const {
    const std::string echoed = r.header("content-md5");
    if (!echoed.empty() && echoed != md5) {
      throw StoreError(ErrorKind::kChecksum, "Azure " + what + " " + where(key) +
                                                 ": the service's MD5 " + echoed +
                                                 " is not what was sent (" + md5 + ")");
    }
  }

  Location location_;
  AzureSettings settings_;
  Transport transport_;
  std::string endpoint_path_;
};

}  // namespace

std::string azure_string_to_sign(const AzureSigned& s) {
  static constexpr const char* kStandard[] = {"Content-Encoding",
                                              "Content-Language",
                                              "Content-Length",
                                              "Content-MD5",
                                              "Content-Type",
                                              "Date",
                                              "If-Modified-Since",
                                              "If-Match",
                                              "If-None-Match",
                                              "If-Unmodified-Since",
                                              "Range"};
  std::string out = s.method + "\n";
  for (const char* name : kStandard) {
    if (std::string_view(name) == "Content-Length") {
      out += (s.content_length == 0 ? std::string() : std::to_string(s.content_length)) + "\n";
    } else {
      out += header_of(s.headers, name) + "\n";
    }
  }
  std::map<std::string, std::string> ms;
  for (const auto& [n, v] : s.headers) {
    const std::string name = lower(n);
    if (name.rfind("x-ms-", 0) == 0) ms[name] = trim(v);
  }
  for (const auto& [n, v] : ms) out += n + ":" + v + "\n";
  out += "/" + s.account + s.path;
  std::map<std::string, std::vector<std::string>> params;
  for (const auto& [n, v] : s.query) params[lower(n)].push_back(v);
  for (auto& [n, values] : params) {
    std::sort(values.begin(), values.end());
    out += "\n" + n + ":";
    for (std::size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + values[i];
  }
  return out;
}

std::unique_ptr<ObjectStore> azure_store(Location location, AzureSettings settings,
                                         Transport transport) {
  return std::make_unique<AzureStore>(std::move(location), std::move(settings),
                                      std::move(transport));
}

}  // namespace millrace::objstore::detail
