#include "s3.hpp"

#include <catch2/catch.hpp>

#include "digest.hpp"
#include "fake_transport.hpp"
#include "http.hpp"
#include "millrace/core/base64.hpp"
#include "temp_file.hpp"

using namespace millrace::objstore;
using millrace::objstore::testing::answer;
using millrace::objstore::testing::fake_transport;
using millrace::objstore::testing::FakeClient;
using millrace::objstore::testing::Seen;
using millrace::objstore::testing::TempFile;

namespace {

std::unique_ptr<ObjectStore> store(std::vector<Seen>& seen, FakeClient::Answer a,
                                   std::int64_t part_bytes = 1 << 20, bool path_style = true) {
  detail::S3Settings s;
  s.endpoint = "http://127.0.0.1:8333";
  s.region = "eu-west-1";
  s.path_style = path_style;
  s.access_key_id = "AKID";
  s.secret_access_key = "SECRET";
  s.part_bytes = part_bytes;
  return detail::s3_store(parse_location("s3://bucket/cap ture/"), s,
                          fake_transport(seen, std::move(a)));
}

std::string quoted_md5(const std::string& s) {
  return "\"" + detail::md5_hex(s) + "\"";
}

}  // namespace

TEST_CASE("the query is in SigV4's canonical form, which libcurl 7.88 signs as given",
          "[objstore][s3]") {
  CHECK(detail::canonical_query({{"prefix", "a b/c"}, {"list-type", "2"}, {"uploads", ""}}) ==
        "list-type=2&prefix=a%20b%2Fc&uploads=");
  CHECK(detail::uri_encode("ns/t/0/2026/x~y.avro", true) == "ns/t/0/2026/x~y.avro");
  CHECK(detail::uri_encode("a+b=c", false) == "a%2Bb%3Dc");
}

TEST_CASE("a small file is one PUT with its MD5, signed by libcurl without its payload's SHA-256",
          "[objstore][s3]") {
  std::vector<Seen> seen;
  auto s = store(seen, [](const Seen& r) {
    return answer(200, "", {{"etag", quoted_md5(r.body)}});
  });
  TempFile f("avro bytes");
  s->put_file("ns/t/0/1.avro", f.path);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "PUT");
  CHECK(seen[0].url == "http://127.0.0.1:8333/bucket/cap%20ture/ns/t/0/1.avro");
  CHECK(seen[0].body == "avro bytes");
  CHECK(seen[0].header("Content-MD5") == millrace::core::base64(detail::md5_raw("avro bytes")));
  // Content-MD5, a signed header, checks every byte: no SHA-256 of them too.
  CHECK(seen[0].header("x-amz-content-sha256") == "UNSIGNED-PAYLOAD");
  CHECK(seen[0].aws_sigv4 == "aws:amz:eu-west-1:s3");
}

TEST_CASE("virtual-hosted addressing puts the bucket in the host", "[objstore][s3]") {
  std::vector<Seen> seen;
  auto s = store(
      seen,
      [](const Seen&) {
        return answer(200, "", {{"content-length", "7"}});
      },
      1 << 20, false);
  CHECK(s->size_of("k") == 7);
  CHECK(seen[0].url == "http://bucket.127.0.0.1:8333/cap%20ture/k");
}

TEST_CASE("an ETag that is not the MD5 of what was sent is a checksum failure", "[objstore][s3]") {
  std::vector<Seen> seen;
  auto s = store(seen, [](const Seen&) {
    return answer(200, "", {{"etag", "\"0123456789abcdef0123456789abcdef\""}});
  });
  TempFile f("abc");
  try {
    s->put_file("k", f.path);
    FAIL("no throw");
  } catch (const StoreError& e) {
    CHECK(e.kind() == ErrorKind::kChecksum);
  }
}

TEST_CASE("CRC-32C is Castagnoli's, as RFC 3720's examples give it", "[objstore][s3]") {
  CHECK(detail::crc32c("123456789") == 0xE3069283);
  CHECK(detail::crc32c(std::string(32, '\0')) == 0x8A9136AA);
  CHECK(detail::crc32c(std::string(32, '\xff')) == 0x62A8AB43);
  CHECK(detail::crc32c("") == 0);
  // S3's form: base64 of its four bytes, big-endian.
  CHECK(detail::crc32c_base64("123456789") == "4waSgw==");
}

TEST_CASE("a large file goes up in parts and is completed with their ETags", "[objstore][s3]") {
  std::vector<Seen> seen;
  auto s = store(
      seen,
      [](const Seen& r) {
        if (r.method == "POST" && r.url.find("uploads=") != std::string::npos) {
          return answer(200,
                        "<InitiateMultipartUploadResult><UploadId>U1</UploadId>"
                        "</InitiateMultipartUploadResult>");
        }
        if (r.method == "PUT") {
          return answer(200, "",
                        {{"etag", quoted_md5(r.body)},
                         {"x-amz-checksum-crc32c", detail::crc32c_base64(r.body)}});
        }
        // The multipart ETag: MD5 of the parts' MD5s, and their number.
        const std::string etag = detail::md5_hex(detail::md5_raw("0123") + detail::md5_raw("4567") +
                                                 detail::md5_raw("89")) +
                                 "-3";
        return answer(200, "<CompleteMultipartUploadResult><ETag>&quot;" + etag +
                               "&quot;</ETag></CompleteMultipartUploadResult>");
      },
      4);
  TempFile f("0123456789");
  s->put_file("big", f.path);
  REQUIRE(seen.size() == 5);
  CHECK(seen[0].url == "http://127.0.0.1:8333/bucket/cap%20ture/big?uploads=");
  CHECK(seen[1].url == "http://127.0.0.1:8333/bucket/cap%20ture/big?partNumber=1&uploadId=U1");
  CHECK(seen[0].header("x-amz-checksum-algorithm") == "CRC32C");
  CHECK(seen[3].body == "89");
  // Each part is checked by the store against its CRC-32C: no MD5 of it.
  CHECK(seen[3].header("x-amz-checksum-crc32c") == detail::crc32c_base64("89"));
  CHECK(seen[3].header("Content-MD5") == "<none>");
  CHECK(seen[3].header("x-amz-content-sha256") == "UNSIGNED-PAYLOAD");
  // A request whose body has no checksum signs its payload's SHA-256.
  CHECK(seen[0].header("x-amz-content-sha256") == detail::sha256_hex(""));
  CHECK(seen[4].header("x-amz-content-sha256") == detail::sha256_hex(seen[4].body));
  CHECK(seen[4].method == "POST");
  CHECK(seen[4].url == "http://127.0.0.1:8333/bucket/cap%20ture/big?uploadId=U1");
  CHECK(seen[4].body.find("<Part><PartNumber>3</PartNumber><ETag>\"" + detail::md5_hex("89") +
                          "\"</ETag><ChecksumCRC32C>" + detail::crc32c_base64("89") +
                          "</ChecksumCRC32C></Part></CompleteMultipartUpload>") !=
        std::string::npos);
}

TEST_CASE(
    "a part the store answers without its CRC-32C goes again with its MD5, and so do the next",
    "[objstore][s3]") {
  std::vector<Seen> seen;
  auto s = store(seen, [](const Seen& r) {
    return answer(200, "", {{"etag", quoted_md5(r.body)}});
  });
  const Unfinished upload{"big", "U1"};
  CHECK(s->upload_part(upload, 1, "0123") ==
        detail::md5_hex("0123") + "\n" + detail::crc32c_base64("0123"));
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].header("Content-MD5") == "<none>");
  CHECK(seen[1].body == "0123");
  CHECK(seen[1].header("Content-MD5") == millrace::core::base64(detail::md5_raw("0123")));
  s->upload_part(upload, 2, "4567");
  REQUIRE(seen.size() == 3);
  CHECK(seen[2].header("Content-MD5") == millrace::core::base64(detail::md5_raw("4567")));
  CHECK(seen[2].header("x-amz-checksum-crc32c") == detail::crc32c_base64("4567"));
}

TEST_CASE("a part whose CRC-32C the store answers otherwise is a checksum failure",
          "[objstore][s3]") {
  std::vector<Seen> seen;
  auto s = store(seen, [](const Seen& r) {
    return answer(200, "",
                  {{"etag", quoted_md5(r.body)},
                   {"x-amz-checksum-crc32c", detail::crc32c_base64(r.body + "!")}});
  });
  try {
    s->upload_part({"big", "U1"}, 1, "0123");
    FAIL("no throw");
  } catch (const StoreError& e) {
    CHECK(e.kind() == ErrorKind::kChecksum);
  }
  CHECK(seen.size() == 1);
}

TEST_CASE("a failed part aborts the upload before the error is thrown", "[objstore][s3]") {
  std::vector<Seen> seen;
  auto s = store(
      seen,
      [](const Seen& r) {
        if (r.method == "POST") {
          return answer(200,
                        "<InitiateMultipartUploadResult><UploadId>U9</UploadId>"
                        "</InitiateMultipartUploadResult>");
        }
        if (r.method == "PUT" && r.url.find("partNumber=2") != std::string::npos) {
          return answer(500, "<Error><Code>InternalError</Code><Message>boom</Message></Error>");
        }
        if (r.method == "DELETE") return answer(204);
        return answer(200, "", {{"etag", quoted_md5(r.body)}});
      },
      4);
  TempFile f("0123456789");
  try {
    s->put_file("big", f.path);
    FAIL("no throw");
  } catch (const StoreError& e) {
    CHECK(e.kind() == ErrorKind::kServer);
    CHECK_THAT(e.what(), Catch::Contains("500 InternalError: boom"));
  }
  CHECK(seen.back().method == "DELETE");
  CHECK(seen.back().url == "http://127.0.0.1:8333/bucket/cap%20ture/big?uploadId=U9");
}

TEST_CASE(
    "an upload's parts are listed again by another process, across pages, and a gone upload is "
    "nullopt, and completing it kNotFound",
    "[objstore][s3]") {
  std::vector<Seen> seen;
  auto s = store(seen, [](const Seen& r) {
    if (r.url.find("uploadId=GONE") != std::string::npos) {
      return answer(404, "<Error><Code>NoSuchUpload</Code><Message>gone</Message></Error>");
    }
    if (r.url.find("part-number-marker=2") != std::string::npos) {
      return answer(200,
                    "<ListPartsResult><IsTruncated>false</IsTruncated>"
                    "<Part><PartNumber>3</PartNumber><ETag>&quot;e3&quot;</ETag>"
                    "<ChecksumCRC32C>AAAAAA==</ChecksumCRC32C></Part>"
                    "</ListPartsResult>");
    }
    return answer(200,
                  "<ListPartsResult><IsTruncated>true</IsTruncated>"
                  "<NextPartNumberMarker>2</NextPartNumberMarker>"
                  "<Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag></Part>"
                  "<Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part>"
                  "</ListPartsResult>");
  });
  const auto parts = s->uploaded_parts({"ns/x.avro", "U1"});
  REQUIRE(parts.has_value());
  CHECK(*parts == std::vector<std::string>{"e1", "e2", "e3\nAAAAAA=="});
  CHECK(seen[0].method == "GET");
  CHECK(seen[0].url == "http://127.0.0.1:8333/bucket/cap%20ture/ns/x.avro?uploadId=U1");
  CHECK_FALSE(s->uploaded_parts({"ns/x.avro", "GONE"}).has_value());
  try {
    s->complete_upload({"ns/x.avro", "GONE"}, {"e1"});
    FAIL("no throw");
  } catch (const StoreError& e) {
    CHECK(e.kind() == ErrorKind::kNotFound);
  }
}

TEST_CASE("a completion answered 200 with an Error body fails", "[objstore][s3]") {
  std::vector<Seen> seen;
  auto s = store(
      seen,
      [](const Seen& r) {
        if (r.method == "POST" && r.url.find("uploads=") != std::string::npos) {
          return answer(200,
                        "<InitiateMultipartUploadResult><UploadId>U</UploadId>"
                        "</InitiateMultipartUploadResult>");
        }
        if (r.method == "POST") {
          return answer(200, "<Error><Code>InternalError</Code><Message>late</Message></Error>");
        }
        if (r.method == "DELETE") return answer(204);
        return answer(200, "", {{"etag", quoted_md5(r.body)}});
      },
      4);
  TempFile f("0123456789");
  CHECK_THROWS_AS(s->put_file("big", f.path), StoreError);
  CHECK(seen.back().method == "DELETE");
}

TEST_CASE("errors are classified from their status and code, without credentials",
          "[objstore][s3]") {
  std::vector<Seen> seen;
  long status = 403;
  std::string code = "InvalidAccessKeyId";
  auto s = store(seen, [&](const Seen&) {
    return answer(status, "<Error><Code>" + code + "</Code><Message>m</Message></Error>");
  });
  const auto kind = [&] {
    try {
      s->check();
    } catch (const StoreError& e) {
      CHECK_THAT(e.what(), !Catch::Contains("SECRET"));
      return e.kind();
    }
    FAIL("no throw");
    return ErrorKind::kRefused;
  };
  CHECK(kind() == ErrorKind::kCredentials);
  status = 404, code = "NoSuchBucket";
  CHECK(kind() == ErrorKind::kNotFound);
  status = 503, code = "SlowDown";
  CHECK(kind() == ErrorKind::kServer);
  status = 400, code = "BadDigest";
  CHECK(kind() == ErrorKind::kChecksum);
  status = 400, code = "InvalidArgument";
  CHECK(kind() == ErrorKind::kRefused);
}

TEST_CASE("listing follows continuation tokens and strips the prefix", "[objstore][s3]") {
  std::vector<Seen> seen;
  auto s = store(seen, [](const Seen& r) {
    if (r.url.find("continuation-token") == std::string::npos) {
      return answer(200,
                    "<ListBucketResult><IsTruncated>true</IsTruncated>"
                    "<NextContinuationToken>T/2</NextContinuationToken>"
                    "<Contents><Key>cap ture/a/1</Key><Size>5</Size></Contents>"
                    "</ListBucketResult>");
    }
    return answer(200,
                  "<ListBucketResult><IsTruncated>false</IsTruncated>"
                  "<Contents><Key>cap ture/a/2</Key><Size>6</Size></Contents>"
                  "</ListBucketResult>");
  });
  const auto all = s->list("a/");
  REQUIRE(all.size() == 2);
  CHECK(all[0].key == "a/1");
  CHECK(all[1].size == 6);
  CHECK(seen[0].url == "http://127.0.0.1:8333/bucket?list-type=2&prefix=cap%20ture%2Fa%2F");
  CHECK(
      seen[1].url ==
      "http://127.0.0.1:8333/bucket?continuation-token=T%2F2&list-type=2&prefix=cap%20ture%2Fa%2F");
}

TEST_CASE("unfinished uploads are listed and aborted", "[objstore][s3]") {
  std::vector<Seen> seen;
  auto s = store(seen, [](const Seen& r) {
    if (r.method == "DELETE") return answer(404, "<Error><Code>NoSuchUpload</Code></Error>");
    return answer(200,
                  "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>"
                  "<Upload><Key>cap ture/.staging/x</Key><UploadId>U</UploadId></Upload>"
                  "</ListMultipartUploadsResult>");
  });
  const auto u = s->unfinished(".staging/");
  REQUIRE(u.size() == 1);
  CHECK(u[0].key == ".staging/x");
  CHECK(seen[0].url == "http://127.0.0.1:8333/bucket?prefix=cap%20ture%2F.staging%2F&uploads=");
  s->abort(u[0]);  // already gone: nothing
  CHECK(seen[1].url == "http://127.0.0.1:8333/bucket/cap%20ture/.staging/x?uploadId=U");
}

TEST_CASE("a copy names its source in x-amz-copy-source, a missing source is kNotFound",
          "[objstore][s3]") {
  std::vector<Seen> seen;
  bool missing = false;
  auto s = store(seen, [&](const Seen&) {
    return missing ? answer(404, "<Error><Code>NoSuchKey</Code></Error>")
                   : answer(200, "<CopyObjectResult><ETag>x</ETag></CopyObjectResult>");
  });
  s->copy(".staging/a b", "ns/t/0/x");
  CHECK(seen[0].header("x-amz-copy-source") == "/bucket/cap%20ture/.staging/a%20b");
  CHECK(seen[0].url == "http://127.0.0.1:8333/bucket/cap%20ture/ns/t/0/x");
  missing = true;
  try {
    s->copy("gone", "x");
    FAIL("no throw");
  } catch (const StoreError& e) {
    CHECK(e.kind() == ErrorKind::kNotFound);
  }
}

TEST_CASE("reading streams the body, a missing object is kNotFound and size_of nullopt",
          "[objstore][s3]") {
  std::vector<Seen> seen;
  bool missing = false;
  auto s = store(seen, [&](const Seen&) { return missing ? answer(404) : answer(200, "bytes"); });
  std::string got;
  s->read("k", [&](std::string_view p) { got += p; });
  CHECK(got == "bytes");
  missing = true;
  CHECK_FALSE(s->size_of("k").has_value());
  try {
    s->read("k", [](std::string_view) {});
    FAIL("no throw");
  } catch (const StoreError& e) {
    CHECK(e.kind() == ErrorKind::kNotFound);
  }
}

TEST_CASE("s3: no answer is a network error naming the request without its query",
          "[objstore][s3]") {
  std::vector<Seen> seen;
  auto s = store(seen, [](const Seen&) {
    return millrace::http::testing::no_answer(millrace::http::Cause::kNoAnswer,
                                              "Connection refused");
  });
  try {
    s->list("");
    FAIL("no throw");
  } catch (const StoreError& e) {
    CHECK(e.kind() == ErrorKind::kNetwork);
    CHECK(std::string(e.what()) ==
          "GET http://127.0.0.1:8333/bucket: no answer: Connection refused");
  }
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].url.find('?') != std::string::npos);
  CHECK_FALSE(seen[0].aws_sigv4.empty());
}

TEST_CASE("s3: every request takes the store's transport options", "[objstore][s3]") {
  std::vector<Seen> seen;
  detail::TransportOptions options;
  options.ca_file = "/etc/store-ca.pem";
  options.stall = std::chrono::seconds(45);
  detail::Transport transport(
      std::make_unique<FakeClient>(seen, [](const Seen&) { return answer(404); }), options);
  transport.perform({});
  REQUIRE(seen.size() == 1);
  const auto& o = seen[0].options;
  CHECK(o.ca_file == "/etc/store-ca.pem");
  CHECK(o.connect_timeout == std::chrono::seconds(10));
  CHECK(o.stall_time == std::chrono::seconds(45));
  CHECK(o.stall_bytes == 1);
  CHECK(o.total_timeout.count() == 0);
  CHECK_FALSE(o.follow_redirects);
  CHECK_FALSE(o.proxy);
  CHECK(o.user_agent == "millrace-archiver");
  CHECK(o.keep_body == millrace::http::kUnlimited);
  CHECK(o.keep_error_body == 1u << 20);
}
