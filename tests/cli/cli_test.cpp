// The binaries' command lines: help, bad flags and bad values exit 2 with a
// message naming the problem. No network needed.
#include <catch2/catch.hpp>

#include "harness.hpp"

using millrace::testing::bin;
using millrace::testing::run;

namespace {
struct Result {
  int code;
  std::string out;
};
Result cli(const std::string& binary, std::vector<std::string> args,
           std::map<std::string, std::string> env = {}) {
  Result r;
  // Capture stderr too: run() maps stdout; redirect stderr through a shell-free dup.
  r.code = run(bin(binary), args, env, &r.out);
  return r;
}
}  // namespace

TEST_CASE("--help documents every command and flag with its environment variable") {
  auto r = cli("millrace", {"--help"});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("produce"));
  CHECK_THAT(r.out, Catch::Contains("migrate"));
  r = cli("millrace", {"produce", "--help"});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("--bad-ratio"));
  CHECK_THAT(r.out, Catch::Contains("MILLRACE_BROKERS"));
  r = cli("millrace-sink", {"--help"});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("MILLRACE_PG"));
  CHECK_THAT(r.out, Catch::Contains("--min-discount"));
}

TEST_CASE("bad flags and values exit with status 2") {
  CHECK(cli("millrace", {}).code == 2);
  CHECK(cli("millrace", {"frobnicate"}).code == 2);
  CHECK(cli("millrace", {"produce"}).code == 2);
  CHECK(cli("millrace", {"produce", "--count", "abc"}).code == 2);
  CHECK(cli("millrace", {"produce", "--count", "10", "--bad-ratio", "1.5"}).code == 2);
  CHECK(cli("millrace", {"produce", "--count", "10", "--unknown"}).code == 2);
  CHECK(cli("millrace", {"produce", "--count", "10", "--file", "x"}).code == 2);
  CHECK(cli("millrace-sink", {"--batch-size", "0"}).code == 2);
  CHECK(cli("millrace-sink", {"--keep-types", "refund_event"}).code == 2);
  CHECK(cli("millrace-sink", {}, {{"MILLRACE_MIN_DISCOUNT", "lots"}}).code == 2);
}

TEST_CASE("check-config validates without connecting, and names unread variables") {
  // Nothing listens on these addresses: a check that tried to connect would fail or hang.
  const std::map<std::string, std::string> env = {
      {"MILLRACE_BROKERS", "kafka.invalid:19092"},
      {"MILLRACE_PG", "postgresql://millrace:s3cret@postgres.invalid:5432/millrace"},
      {"MILLRACE_BATCH_SZIE", "100"}};
  for (const std::string service : {"millrace-sink", "millrace-aggregator"}) {
    auto r = cli(service, {"--check-config", "--batch-ms", "50"}, env);
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains(service + ": configuration is valid"));
    CHECK_THAT(r.out, Catch::Contains("--brokers = kafka.invalid:19092  (env MILLRACE_BROKERS)"));
    CHECK_THAT(r.out, Catch::Contains("--batch-ms = 50ms  (flag)"));
    CHECK_THAT(r.out, !Catch::Contains("s3cret"));
    CHECK_THAT(r.out, Catch::Contains("note: MILLRACE_BATCH_SZIE is set but " + service +
                                      " does not read it"));
  }
  auto r = cli("millrace-producer", {"--check-config"}, env);
  CHECK(r.code == 0);
  // The producer takes no PostgreSQL connection: MILLRACE_PG is not for it.
  CHECK_THAT(r.out, Catch::Contains("note: MILLRACE_PG is set but millrace-producer"));
  CHECK(cli("millrace-sink", {"--check-config"}, {{"MILLRACE_MIN_DISCOUNT", "101"}}).code == 2);
  CHECK(cli("millrace-producer", {"--check-config", "--http-addr", "nope"}).code == 2);
}

TEST_CASE("create-topics refuses an odd partition count before it connects") {
  CHECK(cli("millrace", {"create-topics", "--partitions", "3"}).code == 2);
  CHECK(cli("millrace", {"create-topics", "--replication-factor", "0"}).code == 2);
  CHECK(cli("millrace", {"create-topics", "--topic", ""}).code == 2);
  CHECK(cli("millrace", {"create-topics", "--kafka-properties", "acks"}).code == 2);
  auto r = cli("millrace", {"create-topics", "--help"});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("MILLRACE_REPLICATION_FACTOR"));
}

TEST_CASE("long commands show progress on stderr for a terminal or when asked, else stay quiet") {
  const std::string generate = bin("millrace") + " generate --count 20000";
  std::string quiet;
  REQUIRE(millrace::testing::run_shell(generate + " 2>&1 >/dev/null", &quiet) == 0);
  CHECK(quiet.empty());  // stderr is a pipe here
  std::string shown;
  REQUIRE(millrace::testing::run_shell(generate + " --progress always 2>&1 >/dev/null", &shown) ==
          0);
  CHECK_THAT(shown, Catch::Contains("20,000 written (100%)"));
  CHECK(cli("millrace", {"generate", "--count", "10", "--progress", "sometimes"}).code == 2);
  CHECK(cli("millrace", {"produce", "--count", "10", "--progress", "sometimes"}).code == 2);
}
