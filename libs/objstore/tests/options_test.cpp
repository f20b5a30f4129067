#include "millrace/objstore/options.hpp"

#include <catch2/catch.hpp>
#include <fstream>

#include "credentials.hpp"
#include "temp_file.hpp"

using namespace millrace::objstore;
using millrace::core::UsageError;
using millrace::objstore::testing::TempFile;

namespace {

StoreOptions parsed(const std::map<std::string, std::string>& env, const std::string& url) {
  millrace::core::OptionSet o("test", "test");
  StoreOptions s;
  s.url = url;
  register_options(o, s);
  o.parse(env, {});
  validate(s);
  return s;
}

}  // namespace

TEST_CASE("s3 takes the standard AWS variables, or a profile of the credentials file",
          "[objstore][options]") {
  const auto s = parsed({{"AWS_ACCESS_KEY_ID", "id"},
                         {"AWS_SECRET_ACCESS_KEY", "secret"},
                         {"AWS_REGION", "eu-central-1"}},
                        "s3://bucket/p");
  CHECK(s.aws_access_key_id == "id");
  CHECK(s.s3_region == "eu-central-1");
  TempFile file(
      "[default]\naws_access_key_id = a\n[other]\naws_access_key_id=b\n"
      "aws_secret_access_key = c\naws_session_token=t\n");
  const auto p = parsed({{"AWS_SHARED_CREDENTIALS_FILE", file.path}, {"AWS_PROFILE", "other"}},
                        "s3://bucket/p");
  CHECK(p.aws_access_key_id == "b");
  CHECK(p.aws_secret_access_key == "c");
  CHECK(p.aws_session_token == "t");
  CHECK(p.s3_region == "us-east-1");
  CHECK_THROWS_WITH(
      parsed({{"AWS_SHARED_CREDENTIALS_FILE", file.path}, {"AWS_PROFILE", "none"}}, "s3://b12/p"),
      Catch::Contains("no [none] profile"));
  CHECK_THROWS_WITH(parsed({{"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/x"}}, "s3://b12/p"),
                    Catch::Contains("cannot read the AWS credentials file"));
}

TEST_CASE("settings that cannot work are refused, naming the setting", "[objstore][options]") {
  CHECK_THROWS_WITH(parsed({}, "gs://b/p"), Catch::Contains("--archive-url"));
  CHECK_THROWS_WITH(
      parsed({{"AWS_ACCESS_KEY_ID", "i"},
              {"AWS_SECRET_ACCESS_KEY", "s"},
              {"MILLRACE_S3_ADDRESSING", "dns"}},
             "s3://bucket/p"),
      Catch::Contains("MILLRACE_S3_ADDRESSING: expected auto, path or virtual, got \"dns\""));
  CHECK_THROWS_WITH(parsed({{"AWS_ACCESS_KEY_ID", "i"},
                            {"AWS_SECRET_ACCESS_KEY", "s"},
                            {"MILLRACE_S3_ENDPOINT", "localhost:9000"}},
                           "s3://bucket/p"),
                    Catch::Contains("http:// or https://"));
  CHECK_THROWS_WITH(parsed({}, "azblob://acct/cont"), Catch::Contains("MILLRACE_AZURE_SAS_FILE"));
  CHECK_NOTHROW(parsed({}, "/srv/archive"));
}

TEST_CASE("secret files lose their blanks and a SAS token its '?'", "[objstore][options]") {
  TempFile sas("?sv=1&sig=x\n");
  CHECK(detail::read_secret_file(sas.path, "the SAS token") == "sv=1&sig=x");
  TempFile empty("\n");
  CHECK_THROWS_WITH(detail::read_secret_file(empty.path, "the SAS token"),
                    Catch::Contains("is empty"));
}
