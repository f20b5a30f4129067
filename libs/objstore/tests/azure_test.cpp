#include "azure.hpp"

#include <catch2/catch.hpp>

#include "digest.hpp"
#include "fake_transport.hpp"
#include "millrace/core/base64.hpp"
#include "temp_file.hpp"

using namespace millrace::objstore;
using millrace::objstore::testing::answer;
using millrace::objstore::testing::fake_transport;
using millrace::objstore::testing::FakeClient;
using millrace::objstore::testing::Seen;
using millrace::objstore::testing::TempFile;

namespace {

constexpr const char* kDate = "Sat, 28 Nov 2026 12:00:00 GMT";

std::unique_ptr<ObjectStore> store(std::vector<Seen>& seen, FakeClient::Answer a,
                                   std::string sas = "", std::int64_t part_bytes = 1 << 20) {
  detail::AzureSettings s;
  s.sas = std::move(sas);
  s.shared_key = "key-bytes";
  s.part_bytes = part_bytes;
  s.fixed_date = kDate;
  return detail::azure_store(parse_location("http://127.0.0.1:10000/devstoreaccount1/arch/p"), s,
                             fake_transport(seen, std::move(a)));
}

std::string b64md5(const std::string& s) {
  return millrace::core::base64(detail::md5_raw(s));
}

}  // namespace

TEST_CASE("the Shared Key string to sign: verb, eleven standard headers, x-ms headers, resource",
          "[objstore][azure]") {
  detail::AzureSigned s;
  s.method = "PUT";
  s.account = "devstoreaccount1";
  s.path = "/devstoreaccount1/arch/p/k";
  s.query = {{"comp", "block"}, {"blockid", "AA=="}};
  s.headers = {{"x-ms-version", "2021-08-06"},
               {"Content-MD5", "md5=="},
               {"x-ms-date", kDate},
               {"X-MS-Blob-Type", " BlockBlob "}};
  s.content_length = 3;
  CHECK(detail::azure_string_to_sign(s) ==
        "PUT\n\n\n3\nmd5==\n\n\n\n\n\n\n\n"
        "x-ms-blob-type:BlockBlob\nx-ms-date:Sat, 28 Nov 2026 12:00:00 GMT\n"
        "x-ms-version:2021-08-06\n"
        "/devstoreaccount1/devstoreaccount1/arch/p/k\nblockid:AA==\ncomp:block");
  s.content_length = 0;  // empty, not 0, since version 2015-02-21
  CHECK(detail::azure_string_to_sign(s).rfind("PUT\n\n\n\nmd5==\n", 0) == 0);
}

TEST_CASE("Shared Key requests carry x-ms-date, x-ms-version and the signature",
          "[objstore][azure]") {
  std::vector<Seen> seen;
  auto s = store(seen, [](const Seen&) { return answer(200, "", {{"content-length", "4"}}); });
  CHECK(s->size_of("ns/a b") == 4);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "HEAD");
  CHECK(seen[0].url == "http://127.0.0.1:10000/devstoreaccount1/arch/p/ns/a%20b");
  CHECK(seen[0].header("x-ms-date") == kDate);
  CHECK(seen[0].header("x-ms-version") == "2021-08-06");
  detail::AzureSigned expected{"HEAD",
                               "devstoreaccount1",
                               "/devstoreaccount1/arch/p/ns/a%20b",
                               {},
                               {{"x-ms-date", kDate}, {"x-ms-version", "2021-08-06"}},
                               0};
  CHECK(seen[0].header("Authorization") ==
        "SharedKey devstoreaccount1:" + millrace::core::base64(detail::hmac_sha256(
                                            "key-bytes", detail::azure_string_to_sign(expected))));
}

TEST_CASE("a SAS token is appended to every URL, and no Authorization sent", "[objstore][azure]") {
  std::vector<Seen> seen;
  auto s = store(
      seen,
      [](const Seen& r) {
        return answer(201, "", {{"content-md5", b64md5(r.body)}});
      },
      "sv=2021&sig=abc%2B");
  TempFile f("data");
  s->put_file("k", f.path);
  CHECK(seen[0].url == "http://127.0.0.1:10000/devstoreaccount1/arch/p/k?sv=2021&sig=abc%2B");
  CHECK(seen[0].header("Authorization") == "<none>");
  CHECK(seen[0].header("x-ms-blob-type") == "BlockBlob");
  CHECK(seen[0].header("Content-MD5") == b64md5("data"));
}

TEST_CASE("an echoed MD5 that differs from what was sent is a checksum failure",
          "[objstore][azure]") {
  std::vector<Seen> seen;
  auto s = store(seen, [](const Seen&) { return answer(201, "", {{"content-md5", "bad=="}}); });
  TempFile f("data");
  try {
    s->put_file("k", f.path);
    FAIL("no throw");
  } catch (const StoreError& e) {
    CHECK(e.kind() == ErrorKind::kChecksum);
  }
}

TEST_CASE("a large file goes up as blocks of ids of one length, then the block list",
          "[objstore][azure]") {
  std::vector<Seen> seen;
  auto s = store(
      seen,
      [](const Seen& r) {
        return answer(201, "", {{"content-md5", b64md5(r.body)}});
      },
      "", 4);
  TempFile f("0123456789");
  s->put_file("big", f.path);
  REQUIRE(seen.size() == 4);
  const std::string id1 = millrace::core::base64("millrace        -000001");
  CHECK(seen[0].url == "http://127.0.0.1:10000/devstoreaccount1/arch/p/big?comp=block&blockid=" +
                           detail::uri_encode(id1, false));
  CHECK(seen[2].body == "89");
  CHECK(seen[3].url == "http://127.0.0.1:10000/devstoreaccount1/arch/p/big?comp=blocklist");
  CHECK(seen[3].body.find("<Latest>" + id1 + "</Latest>") != std::string::npos);
  CHECK(seen[3].body.find("<Latest>" + millrace::core::base64("millrace        -000003") +
                          "</Latest>") != std::string::npos);
}

TEST_CASE(
    "an upload begun under its final key: blocks of the tag, the list on completion, its parts "
    "found again by the tag, a block gone is kNotFound",
    "[objstore][azure]") {
  std::vector<Seen> seen;
  const std::string mine1 = millrace::core::base64("00000000000000a1-000001");
  const std::string mine2 = millrace::core::base64("00000000000000a1-000002");
  const std::string other = millrace::core::base64("00000000000000b2-000001");
  bool block_gone = false;
  auto s = store(seen, [&](const Seen& r) {
    if (r.url.find("comp=blocklist&blocklisttype=uncommitted") != std::string::npos) {
      return answer(200,
                    "<BlockList><CommittedBlocks/><UncommittedBlocks>"
                    "<Block><Name>" +
                        mine2 +
                        "</Name><Size>2</Size></Block>"
                        "<Block><Name>" +
                        other +
                        "</Name><Size>4</Size></Block>"
                        "<Block><Name>" +
                        mine1 +
                        "</Name><Size>4</Size></Block>"
                        "</UncommittedBlocks></BlockList>");
    }
    if (r.url.find("comp=blocklist") != std::string::npos && block_gone) {
      return answer(400, "<Error><Code>InvalidBlockList</Code><Message>gone</Message></Error>");
    }
    return answer(201, "", {{"content-md5", b64md5(r.body)}});
  });
  const Unfinished u = s->begin_upload("ns/t/0/x.avro", "00000000000000a1");
  CHECK(seen.empty());  // no request: the tag names the blocks
  CHECK(u.id == "00000000000000a1");
  CHECK(s->upload_part(u, 1, "0123") == mine1);
  CHECK(seen.back().url ==
        "http://127.0.0.1:10000/devstoreaccount1/arch/p/ns/t/0/x.avro"
        "?comp=block&blockid=" +
            detail::uri_encode(mine1, false));
  // Another process finds the tag's blocks, in order, and not the other attempt's.
  const auto parts = s->uploaded_parts(u);
  REQUIRE(parts.has_value());
  CHECK(*parts == std::vector<std::string>{mine1, mine2});
  CHECK_FALSE(s->uploaded_parts({"ns/t/0/x.avro", "00000000000000c3"}).has_value());
  s->complete_upload(u, *parts);
  CHECK(seen.back().body.find("<Latest>" + mine1 + "</Latest><Latest>" + mine2 + "</Latest>") !=
        std::string::npos);
  block_gone = true;
  try {
    s->complete_upload(u, *parts);
    FAIL("no throw");
  } catch (const StoreError& e) {
    CHECK(e.kind() == ErrorKind::kNotFound);
  }
}

TEST_CASE("aborting a tagged upload discards the blob only when every uncommitted block is its own",
          "[objstore][azure]") {
  std::vector<Seen> seen;
  const std::string mine = millrace::core::base64("00000000000000a1-000001");
  const std::string other = millrace::core::base64("00000000000000b2-000001");
  std::string blocks = "<Block><Name>" + mine + "</Name></Block>";
  auto s = store(seen, [&](const Seen& r) {
    if (r.method == "HEAD") return answer(404);
    if (r.url.find("blocklisttype=uncommitted") != std::string::npos) {
      return answer(200,
                    "<BlockList><UncommittedBlocks>" + blocks + "</UncommittedBlocks></BlockList>");
    }
    return answer(201);
  });
  blocks += "<Block><Name>" + other + "</Name></Block>";
  s->abort({"k", "00000000000000a1"});
  // Another attempt's block is there: nothing discarded.
  CHECK(seen.back().method == "GET");
  blocks = "<Block><Name>" + mine + "</Name></Block>";
  s->abort({"k", "00000000000000a1"});
  CHECK(seen.back().method == "DELETE");
  CHECK(seen[seen.size() - 2].url.find("comp=blocklist") != std::string::npos);
}

TEST_CASE("a pending copy is polled until it succeeds, a failed one throws", "[objstore][azure]") {
  std::vector<Seen> seen;
  int polls = 0;
  std::string final_status = "success";
  auto s = store(seen, [&](const Seen& r) {
    if (r.method == "PUT") return answer(202, "", {{"x-ms-copy-status", "pending"}});
    return answer(200, "", {{"x-ms-copy-status", ++polls < 2 ? "pending" : final_status}});
  });
  s->copy(".staging/x", "ns/x");
  CHECK(seen[0].header("x-ms-copy-source") ==
        "http://127.0.0.1:10000/devstoreaccount1/arch/p/.staging/x");
  CHECK(polls == 2);
  polls = 0;
  final_status = "failed";
  CHECK_THROWS_AS(s->copy(".staging/x", "ns/x"), StoreError);
}

TEST_CASE(
    "listing follows NextMarker, unfinished blobs are those listed only with "
    "uncommitted ones",
    "[objstore][azure]") {
  std::vector<Seen> seen;
  auto s = store(seen, [](const Seen& r) {
    const bool all = r.url.find("include=uncommittedblobs") != std::string::npos;
    if (all) {
      return answer(200,
                    "<EnumerationResults><Blobs>"
                    "<Blob><Name>p/a</Name><Properties><Content-Length>1</Content-Length>"
                    "</Properties></Blob><Blob><Name>p/b</Name></Blob></Blobs><NextMarker/>"
                    "</EnumerationResults>");
    }
    if (r.url.find("marker=M") == std::string::npos) {
      return answer(200,
                    "<EnumerationResults><Blobs><Blob><Name>p/a</Name><Properties>"
                    "<Content-Length>1</Content-Length></Properties></Blob></Blobs>"
                    "<NextMarker>M</NextMarker></EnumerationResults>");
    }
    return answer(200, "<EnumerationResults><Blobs></Blobs><NextMarker/></EnumerationResults>");
  });
  const auto listed = s->list("");
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].key == "a");
  CHECK(listed[0].size == 1);
  const auto u = s->unfinished("");
  REQUIRE(u.size() == 1);
  CHECK(u[0].key == "b");
}

TEST_CASE("Azure's errors are classified by status and x-ms-error-code", "[objstore][azure]") {
  std::vector<Seen> seen;
  auto s = store(seen, [](const Seen&) {
    return answer(403,
                  "<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code><Message>"
                  "Server failed to authenticate the request.\nRequestId:1</Message></Error>",
                  {{"x-ms-error-code", "AuthenticationFailed"}});
  });
  try {
    s->check();
    FAIL("no throw");
  } catch (const StoreError& e) {
    CHECK(e.kind() == ErrorKind::kCredentials);
    CHECK_THAT(e.what(), Catch::Contains("403 AuthenticationFailed: Server failed to "
                                         "authenticate the request."));
    CHECK_THAT(e.what(), !Catch::Contains("RequestId"));
  }
}
