#include "millrace/archive/config.hpp"

#include <catch2/catch.hpp>

#include "millrace/core/failure.hpp"
#include "millrace/core/parse_config.hpp"

using namespace millrace;
using Catch::Matchers::Contains;

namespace {
archive::ArchiverConfig parse(std::map<std::string, std::string> env,
                              std::vector<std::string> args) {
  return core::parse_config<archive::ArchiverConfig>(env, args);
}
}  // namespace

TEST_CASE("the archiver's settings: its own group, a required root, Capture's windows",
          "[archive]") {
  const auto d =
      parse({{"MILLRACE_ARCHIVE_ROOT", "/srv/archive"}, {"MILLRACE_SINK_GROUP", "s"}}, {});
  CHECK(d.stream.service == "archiver");
  CHECK(d.stream.group == "millrace-archiver");
  CHECK(d.stream.kafka.topic == "store-events");
  CHECK(d.root == "/srv/archive");
  CHECK(d.ns == "millrace");
  CHECK(d.policy.window_ms == 300'000);
  CHECK(d.policy.max_bytes == 300'000'000);
  const auto e =
      parse({{"MILLRACE_ARCHIVER_GROUP", "arch"}},
            {"--root", "/a", "--window-s", "60", "--max-mb", "5", "--namespace", "shop"});
  CHECK(e.stream.group == "arch");
  CHECK(e.policy.window_ms == 60'000);
  CHECK(e.policy.max_bytes == 5'000'000);
  CHECK(e.ns == "shop");
}

TEST_CASE("the archiver refuses a missing root and a namespace that is no directory name",
          "[archive]") {
  CHECK_THROWS_WITH(parse({}, {}), Contains("MILLRACE_ARCHIVE_URL (or MILLRACE_ARCHIVE_ROOT) is "
                                            "required"));
  CHECK_THROWS_WITH(parse({}, {"--root", "/a", "--namespace", ".."}),
                    Contains("MILLRACE_ARCHIVE_NAMESPACE"));
  CHECK_THROWS_WITH(parse({}, {"--root", "/a", "--namespace", "a/b"}),
                    Contains("cannot be a directory name"));
  CHECK_THROWS_AS(parse({}, {"--root", "/a", "--window-s", "0"}), core::UsageError);
}

TEST_CASE(
    "the archive's URL: a directory under either name, or an object store with its "
    "credentials",
    "[archive]") {
  const auto d = parse({{"MILLRACE_ARCHIVE_URL", "file:///srv/a"}}, {});
  CHECK(d.root == "/srv/a");
  CHECK(d.store.location.is_directory());
  CHECK(parse({{"MILLRACE_ARCHIVE_ROOT", "/srv/a"}, {"MILLRACE_ARCHIVE_URL", "/srv/a"}}, {}).root ==
        "/srv/a");
  CHECK_THROWS_WITH(
      parse({{"MILLRACE_ARCHIVE_ROOT", "/srv/a"}, {"MILLRACE_ARCHIVE_URL", "/b"}}, {}),
      Contains("both set, differently"));
  const auto s = parse({{"MILLRACE_ARCHIVE_URL", "s3://bucket/capture"},
                        {"AWS_ACCESS_KEY_ID", "id"},
                        {"AWS_SECRET_ACCESS_KEY", "secret"},
                        {"MILLRACE_S3_ENDPOINT", "http://127.0.0.1:8333"}},
                       {});
  CHECK(s.store.location.container == "bucket");
  CHECK(s.store.location.prefix == "capture/");
  CHECK_FALSE(s.spool.empty());
  CHECK_THROWS_WITH(parse({{"MILLRACE_ARCHIVE_URL", "s3://bucket/capture"},
                           {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"}},
                          {}),
                    Contains("AWS credentials file"));
  CHECK_THROWS_WITH(parse({{"MILLRACE_ARCHIVE_URL", "s3://bucket/c"},
                           {"AWS_ACCESS_KEY_ID", "id"},
                           {"AWS_SECRET_ACCESS_KEY", "secret"}},
                          {"--max-mb", "6000"}),
                    Contains("at most 5000 with an object store"));
}
