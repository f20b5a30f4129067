#include "s3.hpp"

#include <cstdint>
#include <utility>
#include <vector>

#include "common.hpp"
#include "digest.hpp"
#include "millrace/core/base64.hpp"
#include "millrace/http/client.hpp"
#include "xml.hpp"

namespace millrace::objstore::detail {

namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

// S3 parts are 5 MiB at least (but the last) and 10,000 at most.
constexpr int kMaxParts = 10000;
constexpr std::int64_t kMinPartBytes = 5 << 20;
// What an archived object is: Avro's registered media type is not settled,
// and Capture's own blobs are served as this.
constexpr const char* kObjectType = "application/octet-stream";

// What SigV4 signs of a request's body (x-amz-content-sha256). The archive's
// bytes travel with a checksum the store checks against every byte, in a
// signed header (a part's CRC-32C, a small object's Content-MD5): signing
// their SHA-256 too would hash each byte again for no further check (and
// SeaweedFS 4.48 does not check it: it takes a body whose signed SHA-256 is
// wrong), so they go as UNSIGNED-PAYLOAD (as AWS's SDKs send them over
// HTTPS). Every other request's small body is signed.
enum class Payload : std::uint8_t { kSigned, kUnsigned };
constexpr const char* kUnsignedPayload = "UNSIGNED-PAYLOAD";

std::string unquote(std::string etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return etag;
}

// A part's CRC-32C (base64), which S3 checks against its bytes and answers
// with: the check each part of an upload travels with, computed in
// hardware, where an MD5 (Content-MD5) costs about 1.6 ms per MB here.
constexpr const char* kCrc32cHeader = "x-amz-checksum-crc32c";

// What upload_part() returns and complete_upload() takes: the part's ETag,
// then its CRC-32C when it was sent with one (CompleteMultipartUpload
// names both). Neither holds a newline.
std::string part_name(const std::string& etag, const std::string& crc) {
  return crc.empty() ? etag : etag + "\n" + crc;
}
std::pair<std::string, std::string> split_part_name(const std::string& name) {
  const auto at = name.find('\n');
  if (at == std::string::npos) return {name, ""};
  return {name.substr(0, at), name.substr(at + 1)};
}

bool is_md5_hex(const std::string& s) {
  if (s.size() != 32) return false;
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

class S3Store final : public ObjectStore {
 public:
  S3Store(Location location, S3Settings settings, Transport transport)
      : location_(std::move(location)),
        settings_(std::move(settings)),
        transport_(std::move(transport)) {
    if (settings_.endpoint.empty()) {
      settings_.endpoint = "https://s3." + settings_.region + ".amazonaws.com";
    }
    while (!settings_.endpoint.empty() && settings_.endpoint.back() == '/') {
      settings_.endpoint.pop_back();
    }
    if (settings_.path_style) {
      bucket_url_ = settings_.endpoint + "/" + location_.container;
    } else {
      const auto scheme = settings_.endpoint.find("://");
      bucket_url_ = settings_.endpoint.substr(0, scheme + 3) + location_.container + "." +
                    settings_.endpoint.substr(scheme + 3);
    }
    signing_ = "aws:amz:" + settings_.region + ":s3";
    user_ = settings_.access_key_id + ":" + settings_.secret_access_key;
  }

  std::string describe() const override { return location_.url() + " at " + settings_.endpoint; }

  void put_file(const std::string& key, const std::string& path) override {
    const std::int64_t size = local_file_size(path);
    const std::int64_t part_bytes = part_size_for(size);
    if (size <= part_bytes) {
      for_each_part(path, part_bytes, [&](std::string_view body, int) {
        const std::string md5 = md5_raw(body);
        const auto r = call("PUT", object_url(key), {}, body,
                            {{"Content-MD5", core::base64(md5)}, {"Content-Type", kObjectType}}, {},
                            Payload::kUnsigned);
        expect(r, "PutObject", key);
        const std::string etag = unquote(r.header("etag"));
        if (is_md5_hex(etag) && etag != to_hex(md5)) {
          throw StoreError(ErrorKind::kChecksum,
                           "S3 PutObject " + where(key) + ": the store's ETag " + etag +
                               " is not the MD5 of what was sent (" + to_hex(md5) + ")");
        }
      });
      return;
    }
    const Unfinished upload = begin_upload(key, "");
    try {
      std::vector<std::string> etags;
      for_each_part(path, part_bytes, [&](std::string_view part, int n) {
        etags.push_back(upload_part(upload, n, part));
      });
      complete_upload(upload, etags);
    } catch (...) {
      try {
        abort(upload);
      } catch (const std::exception&) {
        // The next start's cleanup, or the bucket's lifecycle rule, aborts it.
      }
      throw;
    }
  }

  Unfinished begin_upload(const std::string& key, const std::string&) override {
    // Its parts are checked by their CRC-32C, which the upload declares
    // (AWS refuses a part's checksum of another algorithm than its upload's).
    const auto created =
        call("POST", object_url(key), {{"uploads", ""}}, "",
             {{"Content-Type", kObjectType}, {"x-amz-checksum-algorithm", "CRC32C"}});
    expect(created, "CreateMultipartUpload", key);
    const std::string upload_id = parse(created, "CreateMultipartUpload", key).text_of("UploadId");
    if (upload_id.empty()) {
      throw StoreError(ErrorKind::kRefused,
                       "S3 CreateMultipartUpload " + where(key) + ": the answer has no UploadId");
    }
    return {key, upload_id};
  }

  std::int64_t part_size_for(std::int64_t size) const override {
    return grown_part_size(size, settings_.part_bytes, kMaxParts);
  }
  std::int64_t min_part_size() const override { return kMinPartBytes; }

  std::string upload_part(const Unfinished& upload, int n, std::string_view part) override {
    const Params query{{"partNumber", std::to_string(n)}, {"uploadId", upload.id}};
    const std::string what = "UploadPart " + std::to_string(n);
    const std::string crc = crc32c_base64(part);
    if (!md5_parts_) {
      const auto r = call("PUT", object_url(upload.key), query, part, {{kCrc32cHeader, crc}}, {},
                          Payload::kUnsigned);
      expect(r, what, upload.key);
      const std::string echoed = r.header(kCrc32cHeader);
      if (echoed == crc) return part_name(unquote(r.header("etag")), crc);
      if (!echoed.empty()) {
        throw StoreError(ErrorKind::kChecksum, "S3 " + what + " of " + where(upload.key) +
                                                   ": the store's CRC-32C " + echoed +
                                                   " is not the part's (" + crc + ")");
      }
      // The store did not say it checked the CRC-32C (it may not know the
      // header): the part goes again with its Content-MD5, which every S3
      // store checks, and so do this store's next parts.
      md5_parts_ = true;
    }
    const std::string md5 = md5_raw(part);
    const auto r =
        call("PUT", object_url(upload.key), query, part,
             {{"Content-MD5", core::base64(md5)}, {kCrc32cHeader, crc}}, {}, Payload::kUnsigned);
    expect(r, what, upload.key);
    const std::string etag = unquote(r.header("etag"));
    if (is_md5_hex(etag) && etag != to_hex(md5)) {
      throw StoreError(ErrorKind::kChecksum, "S3 " + what + " of " + where(upload.key) + ": ETag " +
                                                 etag + " is not the part's MD5");
    }
    return part_name(etag, crc);
  }

  void complete_upload(const Unfinished& upload, const std::vector<std::string>& etags) override {
    std::string body = "<CompleteMultipartUpload>";
    std::string md5s;
    for (std::size_t i = 0; i < etags.size(); ++i) {
      const auto [etag, crc] = split_part_name(etags[i]);
      if (is_md5_hex(etag)) md5s += from_hex(etag);
      body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>\"" +
              xml_escape(etag) + "\"</ETag>";
      if (!crc.empty()) body += "<ChecksumCRC32C>" + xml_escape(crc) + "</ChecksumCRC32C>";
      body += "</Part>";
    }
    body += "</CompleteMultipartUpload>";
    const auto r = call("POST", object_url(upload.key), {{"uploadId", upload.id}}, body,
                        {{"Content-Type", "application/xml"}});
    if (r.status == 404) {
      throw StoreError(ErrorKind::kNotFound,
                       "S3 CompleteMultipartUpload " + where(upload.key) + ": " + error_text(r));
    }
    expect(r, "CompleteMultipartUpload", upload.key);
    // A 200 whose body is an <Error>: S3 reports a late failure so
    // (parse() throws it).
    const std::string etag =
        unquote(parse(r, "CompleteMultipartUpload", upload.key).text_of("ETag"));
    const std::string want = to_hex(md5_raw(md5s)) + "-" + std::to_string(etags.size());
    if (md5s.size() == 16 * etags.size() && etag.find('-') != std::string::npos && etag != want) {
      throw StoreError(ErrorKind::kChecksum, "S3 multipart upload of " + where(upload.key) +
                                                 ": the store's ETag " + etag + " is not " + want +
                                                 ", the MD5 of the parts' MD5s");
    }
  }

  std::optional<std::vector<std::string>> uploaded_parts(const Unfinished& upload) override {
    std::vector<std::string> out;
    std::string marker;
    for (;;) {
      Params q{{"uploadId", upload.id}};
      if (!marker.empty()) q.emplace_back("part-number-marker", marker);
      const auto r = call("GET", object_url(upload.key), q, "", {});
      if (r.status == 404) return std::nullopt;
      expect(r, "ListParts", upload.key);
      const auto doc = parse(r, "ListParts", upload.key);
      for (const auto& c : doc.children) {
        if (c.name != "Part") continue;
        const auto n = std::stoul(c.text_of("PartNumber"));
        if (n == 0 || n > kMaxParts) {
          throw StoreError(ErrorKind::kServer, "S3 ListParts " + where(upload.key) +
                                                   ": part number " + c.text_of("PartNumber"));
        }
        if (out.size() < n) out.resize(n);
        out[n - 1] = part_name(unquote(c.text_of("ETag")), c.text_of("ChecksumCRC32C"));
      }
      marker = doc.text_of("NextPartNumberMarker");
      if (doc.text_of("IsTruncated") != "true" || marker.empty()) break;
    }
    return out;
  }

  std::optional<std::int64_t> size_of(const std::string& key) override {
    const auto r = call("HEAD", object_url(key), {}, "", {});
    if (r.status == 404) return std::nullopt;
    expect(r, "HeadObject", key);
    try {
      return std::stoll(r.header("content-length"));
    } catch (const std::exception&) {
      throw StoreError(ErrorKind::kRefused, "S3 HeadObject " + where(key) + ": no Content-Length");
    }
  }

  void read(const std::string& key, const std::function<void(std::string_view)>& sink) override {
    const auto r = call("GET", object_url(key), {}, "", {}, sink);
    expect(r, "GetObject", key);
  }

  void copy(const std::string& from, const std::string& to) override {
    const std::string source =
        "/" + location_.container + "/" + uri_encode(location_.prefix + from, true);
    const auto r = call("PUT", object_url(to), {}, "", {{"x-amz-copy-source", source}});
    if (r.status == 404) {
      throw StoreError(ErrorKind::kNotFound,
                       "S3 CopyObject from " + where(from) + ": " + error_text(r));
    }
    expect(r, "CopyObject (from " + from + ")", to);
    parse(r, "CopyObject", to);  // a 200 may carry an <Error>
  }

  void remove(const std::string& key) override {
    const auto r = call("DELETE", object_url(key), {}, "", {});
    if (r.status == 404) return;
    expect(r, "DeleteObject", key);
  }

  std::vector<ObjectInfo> list(const std::string& prefix) override {
    std::vector<ObjectInfo> out;
    std::string token;
    for (;;) {
      Params q{{"list-type", "2"}, {"prefix", location_.prefix + prefix}};
      if (!token.empty()) q.emplace_back("continuation-token", token);
      const auto r = call("GET", bucket_url_, q, "", {});
      expect(r, "ListObjectsV2", prefix);
      const auto doc = parse(r, "ListObjectsV2", prefix);
      for (const auto& c : doc.children) {
        if (c.name != "Contents") continue;
        ObjectInfo info;
        info.key = relative(c.text_of("Key"));
        try {
          info.size = std::stoll(c.text_of("Size"));
        } catch (const std::exception&) {
          info.size = -1;
        }
        out.push_back(std::move(info));
      }
      token = doc.text_of("NextContinuationToken");
      if (doc.text_of("IsTruncated") != "true" || token.empty()) break;
    }
    return out;
  }

  std::vector<Unfinished> unfinished(const std::string& prefix) override {
    std::vector<Unfinished> out;
    std::string key_marker, id_marker;
    for (;;) {
      Params q{{"uploads", ""}, {"prefix", location_.prefix + prefix}};
      if (!key_marker.empty()) q.emplace_back("key-marker", key_marker);
      if (!id_marker.empty()) q.emplace_back("upload-id-marker", id_marker);
      const auto r = call("GET", bucket_url_, q, "", {});
      expect(r, "ListMultipartUploads", prefix);
      const auto doc = parse(r, "ListMultipartUploads", prefix);
      for (const auto& c : doc.children) {
        if (c.name != "Upload") continue;
        out.push_back({relative(c.text_of("Key")), c.text_of("UploadId")});
      }
      key_marker = doc.text_of("NextKeyMarker");
      id_marker = doc.text_of("NextUploadIdMarker");
      if (doc.text_of("IsTruncated") != "true" || key_marker.empty()) break;
    }
    return out;
  }

  void abort(const Unfinished& upload) override {
    const auto r = call("DELETE", object_url(upload.key), {{"uploadId", upload.id}}, "", {});
    if (r.status == 404) return;
    expect(r, "AbortMultipartUpload", upload.key);
  }

  void check() override {
    const auto r =
        call("GET", bucket_url_,
             {{"list-type", "2"}, {"max-keys", "1"}, {"prefix", location_.prefix}}, "", {});
    expect(r, "ListObjectsV2", "");
  }

 private:
  std::string object_url(const std::string& key) const {
    return bucket_url_ + "/" + uri_encode(location_.prefix + key, true);
  }
  std::string where(const std::string& key) const {
    return "s3://" + location_.container + "/" + location_.prefix + key;
  }
  std::string relative(const std::string& full) const {
    return full.rfind(location_.prefix, 0) == 0 ? full.substr(location_.prefix.size()) : full;
  }

  http::Response call(const std::string& method, const std::string& url, const Params& query,
                      std::string_view body, const Params& headers,
                      const std::function<void(std::string_view)>& sink = {},
                      Payload payload = Payload::kSigned) {
    http::Request req;
    req.method = method;
    req.url = url;
    if (!query.empty()) req.url += "?" + canonical_query(query);
    req.headers = headers;
    // libcurl 7.88 signs this header's value as the payload's hash, and
    // hashes the body itself only when it is absent.
    req.headers.emplace_back("x-amz-content-sha256",
                             payload == Payload::kUnsigned ? kUnsignedPayload : sha256_hex(body));
    if (!settings_.session_token.empty()) {
      req.headers.emplace_back("x-amz-security-token", settings_.session_token);
    }
    req.body = body;
    req.on_body = sink;
    req.aws_sigv4 = signing_;
    req.aws_user = user_;
    return transport_.perform(req);
  }

  std::string error_text(const http::Response& r) const {
    std::string code = r.header("x-amz-error-code"), message;
    if (!r.body.empty()) {
      try {
        const auto doc = parse_xml(r.body);
        if (doc.name == "Error") {
          code = doc.text_of("Code");
          message = doc.text_of("Message");
        }
      } catch (const std::runtime_error&) {
        message = r.body.substr(0, 200);
      }
    }
    return status_text(r.status, code, message);
  }

  void expect(const http::Response& r, const std::string& what, const std::string& key) const {
    if (r.status >= 200 && r.status < 300) return;
    std::string code = r.header("x-amz-error-code");
    if (!r.body.empty()) {
      try {
        const auto doc = parse_xml(r.body);
        if (doc.name == "Error") code = doc.text_of("Code");
      } catch (const std::runtime_error&) {
      }
    }
    throw StoreError(kind_of(r.status, code),
                     "S3 " + what + " " + where(key) + ": " + error_text(r));
  }

  XmlNode parse(const http::Response& r, const std::string& what, const std::string& key) const {
    XmlNode doc;
    try {
      doc = parse_xml(r.body);
    } catch (const std::runtime_error& e) {
      throw StoreError(ErrorKind::kServer, "S3 " + what + " " + where(key) + ": " + e.what());
    }
    if (doc.name == "Error") {
      const std::string code = doc.text_of("Code");
      // The answer was 200, but the operation failed: S3 says retry.
      throw StoreError(
          code == "InternalError" || code == "SlowDown" ? ErrorKind::kServer : kind_of(400, code),
          "S3 " + what + " " + where(key) + ": " +
              status_text(r.status, code, doc.text_of("Message")));
    }
    return doc;
  }

  Location location_;
  S3Settings settings_;
  Transport transport_;
  std::string bucket_url_;
  std::string signing_;
  std::string user_;
  // Set once the store answered a part without its CRC-32C: its parts then
  // carry their Content-MD5 too.
  bool md5_parts_ = false;
};

}  // namespace

std::unique_ptr<ObjectStore> s3_store(Location location, S3Settings settings, Transport transport) {
  return std::make_unique<S3Store>(std::move(location), std::move(settings), std::move(transport));
}

}  // namespace millrace::objstore::detail
