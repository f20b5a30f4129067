#include "millrace/objstore/location.hpp"

#include <catch2/catch.hpp>

using millrace::objstore::Location;
using millrace::objstore::normalise_prefix;
using millrace::objstore::parse_location;

TEST_CASE("a file URL or an absolute path is a directory", "[objstore][location]") {
  CHECK(parse_location("file:///var/lib/archive").path == "/var/lib/archive");
  CHECK(parse_location("/srv/archive").kind == Location::Kind::kDirectory);
  CHECK_THROWS_WITH(parse_location("file://relative/x"), Catch::Contains("absolute path"));
}

TEST_CASE("s3 URLs give a bucket and a prefix ending with a slash", "[objstore][location]") {
  const auto l = parse_location("s3://millrace-archive/capture/eu");
  CHECK(l.kind == Location::Kind::kS3);
  CHECK(l.container == "millrace-archive");
  CHECK(l.prefix == "capture/eu/");
  CHECK(l.url() == "s3://millrace-archive/capture/eu/");
  CHECK(parse_location("s3://bucket").prefix.empty());
  CHECK(parse_location("s3://bucket/").prefix.empty());
  CHECK_THROWS_WITH(parse_location("s3://Bucket_1/x"), Catch::Contains("not a bucket name"));
  CHECK_THROWS_WITH(parse_location("s3://bucket/a/../b"), Catch::Contains("'..'"));
  CHECK_THROWS_WITH(parse_location("s3://bucket/a?x=1"), Catch::Contains("query"));
}

TEST_CASE("Azure URLs: azblob, the service's host, and an emulator's path style",
          "[objstore][location]") {
  const auto a = parse_location("azblob://acct/archive/capture");
  CHECK(a.kind == Location::Kind::kAzureBlob);
  CHECK(a.account == "acct");
  CHECK(a.endpoint == "https://acct.blob.core.windows.net");
  CHECK(a.container == "archive");
  CHECK(a.prefix == "capture/");

  const auto h = parse_location("https://acct.blob.core.windows.net/archive");
  CHECK(h.account == "acct");
  CHECK(h.container == "archive");
  CHECK(h.prefix.empty());

  const auto e = parse_location("http://127.0.0.1:10000/devstoreaccount1/millrace-archive/p");
  CHECK(e.account == "devstoreaccount1");
  CHECK(e.endpoint == "http://127.0.0.1:10000/devstoreaccount1");
  CHECK(e.container == "millrace-archive");
  CHECK(e.prefix == "p/");

  CHECK_THROWS_WITH(parse_location("azblob://acct/Bad--Name"), Catch::Contains("container name"));
  CHECK_THROWS_WITH(parse_location("ftp://x/y"), Catch::Contains("unknown scheme 'ftp'"));
  CHECK_THROWS_WITH(parse_location("bucket/prefix"), Catch::Contains("not a URL"));
}

TEST_CASE("prefixes are normalised", "[objstore][location]") {
  CHECK(normalise_prefix("") == "");
  CHECK(normalise_prefix("/") == "");
  CHECK(normalise_prefix("/a/b") == "a/b/");
  CHECK(normalise_prefix("a//") == "a/");
}
