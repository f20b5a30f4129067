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
