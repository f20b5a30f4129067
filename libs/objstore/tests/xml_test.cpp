#include "xml.hpp"

#include <catch2/catch.hpp>

using millrace::objstore::detail::parse_xml;
using millrace::objstore::detail::xml_escape;

TEST_CASE("an S3 listing is read into a tree", "[objstore][xml]") {
  const auto doc = parse_xml(
      R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
<IsTruncated>true</IsTruncated><NextContinuationToken>t&amp;1</NextContinuationToken>
<Contents><Key>a/1.avro</Key><Size>10</Size></Contents>
<Contents><Key>a/2.avro</Key><Size>20</Size></Contents></ListBucketResult>)");
  CHECK(doc.name == "ListBucketResult");
  CHECK(doc.text_of("NextContinuationToken") == "t&1");
  int contents = 0;
  for (const auto& c : doc.children) contents += c.name == "Contents" ? 1 : 0;
  CHECK(contents == 2);
  CHECK(doc.children.back().text_of("Key") == "a/2.avro");
  CHECK(doc.text_of("Missing").empty());
  CHECK(doc.child("Missing") == nullptr);
}

TEST_CASE("XML that is not well-formed is refused", "[objstore][xml]") {
  CHECK_THROWS_WITH(parse_xml("<a><b></a>"), Catch::Contains("not well-formed"));
  CHECK_THROWS(parse_xml(""));
  CHECK(xml_escape("a<b&\"c'") == "a&lt;b&amp;&quot;c&apos;");
}
