// The dispatcher, the top usage and help, and the argument handling of the
// commands that forward to a library (produce, generate, migrate,
// create-topics, views, store): misuse exits 2 before anything connects.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "common.hpp"
#include "fakes.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using millrace::cli::testing::Harness;

TEST_CASE("no command prints the usage on stderr and exits 2") {
  Harness h;
  CHECK(h.run({}) == 2);
  CHECK_THAT(h.err.str(), StartsWith("usage: millrace <command> [flags]"));
  CHECK(h.out.str().empty());
}

TEST_CASE("help, --help and -h print the usage on stdout and exit 0") {
  for (const std::string flag : {"--help", "-h", "help"}) {
    Harness h;
    CHECK(h.run({flag}) == 0);
    CHECK_THAT(h.out.str(), Contains("  archive   list, verify and replay"));
    CHECK(h.err.str().empty());
  }
}

TEST_CASE("an unknown command names itself and prints the usage, exit 2") {
  Harness h;
  CHECK(h.run({"frobnicate", "--x"}) == 2);
  CHECK_THAT(h.err.str(), StartsWith("millrace: unknown command \"frobnicate\"\nusage: millrace"));
}

TEST_CASE("a command's failure is reported with its name and exits 1") {
  // No backend: the webhooks port is missing, and calling it throws.
  Harness h;
  CHECK(h.run({"webhooks", "list"}) == 1);
  CHECK_THAT(h.err.str(), StartsWith("millrace webhooks: "));
}

TEST_CASE("each group without a subcommand prints its usage on stderr, exit 2") {
  for (const std::string group : {"catalog", "changefeed", "webhooks", "archive", "api"}) {
    Harness h;
    INFO(group);
    CHECK(h.run({group}) == 2);
    CHECK_THAT(h.err.str(), StartsWith("usage: millrace " + group + " <command> [flags]"));
    Harness help;
    CHECK(help.run({group, "--help"}) == 0);
    CHECK_THAT(help.out.str(), StartsWith("usage: millrace " + group + " <command> [flags]"));
    Harness unknown;
    CHECK(unknown.run({group, "nope"}) == 2);
    CHECK(unknown.err.str() == "millrace " + group + ": unknown command \"nope\"\nTry 'millrace " +
                                   group + " --help'.\n");
  }
}

TEST_CASE("a subcommand's --help prints its flags and their variables, exit 0") {
  Harness h;
  CHECK(h.run({"produce", "--help"}) == 0);
  CHECK_THAT(h.out.str(), Contains("--bad-ratio"));
  CHECK_THAT(h.out.str(), Contains("MILLRACE_BROKERS"));
}

TEST_CASE("a bad flag is a usage error naming the command, exit 2") {
  Harness h;
  CHECK(h.run({"produce", "--count", "10", "--unknown"}) == 2);
  CHECK_THAT(h.err.str(), StartsWith("millrace produce: "));
  CHECK_THAT(h.err.str(), Contains("Try 'millrace produce --help'."));
}

TEST_CASE("flags read the context's environment, not the process's") {
  Harness h;
  h.ctx.env["MILLRACE_PG"] = "";
  CHECK(h.run({"store", "partitions"}) == 2);
  CHECK_THAT(h.err.str(), Contains("--pg / MILLRACE_PG must not be empty"));
}

TEST_CASE("a command's --check-config validates and reports without connecting") {
  Harness h;
  h.ctx.env["MILLRACE_PG"] = "postgresql://u:s3cret@db.invalid/x";
  CHECK(h.run({"views", "--check-config"}) == 0);
  CHECK_THAT(h.out.str(), Contains("millrace views"));
  CHECK_THAT(h.out.str(), !Contains("s3cret"));
}

TEST_CASE("produce refuses a --file it cannot open, exit 2") {
  Harness h;
  CHECK(h.run({"produce", "--file", "/nonexistent/events.ndjson"}) == 2);
  CHECK_THAT(h.err.str(), Contains("cannot open --file /nonexistent/events.ndjson"));
  CHECK(h.stop_installs == 0);
}

TEST_CASE("generate --catalog writes the generated catalog to the context's output") {
  Harness h;
  CHECK(h.run({"generate", "--catalog", "categories", "--format", "csv"}) == 0);
  std::istringstream lines(h.out.str());
  std::string header;
  std::getline(lines, header);
  CHECK_THAT(header, StartsWith("name,"));
  std::string first;
  CHECK(std::getline(lines, first));
}

TEST_CASE("views lists the views without connecting, and refuses an unknown one") {
  Harness h;
  CHECK(h.run({"views"}) == 0);
  CHECK_THAT(h.out.str(), Contains("web_orders_"));
  Harness unknown;
  CHECK(unknown.run({"views", "no_such_view"}) == 2);
  CHECK_THAT(unknown.err.str(), Contains("unknown view \"no_such_view\""));
  Harness format;
  CHECK(format.run({"views", "--format", "xml"}) == 2);
  CHECK_THAT(format.err.str(), Contains("--format: expected table, json or csv, got \"xml\""));
  Harness two;
  CHECK(two.run({"views", "a", "b"}) == 2);
  CHECK_THAT(two.err.str(), Contains("give at most one view name"));
}

TEST_CASE("views lists and knows the views of the kinds in --kinds-dir") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("millrace-cli-views-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "parcel.json") << R"({
    "kind": "parcel", "description": "a parcel", "topic": {"name": "parcels", "env": "MILLRACE_PARCELS_TOPIC", "partitions": 1},
    "table": "parcels", "identity": "Id", "time": "At",
    "fields": [{"name": "Id", "column": "id", "type": "text", "required": true, "min_bytes": 1},
               {"name": "At", "column": "at", "type": "timestamp", "required": true}],
    "aggregate": {"name": "parcels", "records_as": "parcels"}})";
  Harness h;
  CHECK(h.run({"views", "--kinds-dir", dir.string()}) == 0);
  CHECK_THAT(h.out.str(), Contains("web_orders_today"));
  CHECK_THAT(h.out.str(), Contains("parcels_today"));
  CHECK_THAT(h.out.str(), Contains("kind parcel, the current UTC day so far: parcels, amount"));
  Harness without;
  CHECK(without.run({"views"}) == 0);
  CHECK(without.out.str().find("parcels_") == std::string::npos);
  // Known with the directory only: otherwise exit 2 before connecting.
  Harness unknown;
  CHECK(unknown.run({"views", "parcels_today"}) == 2);
  std::ofstream(dir / "broken.json") << "{";
  Harness broken;
  CHECK(broken.run({"views", "--kinds-dir", dir.string()}) == 2);
  std::filesystem::remove_all(dir);
}

TEST_CASE("create-topics refuses an odd partition count, exit 2") {
  Harness h;
  CHECK(h.run({"create-topics", "--partitions", "3"}) == 2);
  CHECK_THAT(h.err.str(), Contains("--partitions must be even"));
}

TEST_CASE("migrate refuses a positional argument, exit 2") {
  Harness h;
  CHECK(h.run({"migrate", "extra"}) == 2);
  CHECK_THAT(h.err.str(), Contains("unexpected argument \"extra\""));
}

TEST_CASE("store takes only partitions, and says how to call it") {
  for (const auto& args :
       {std::vector<std::string>{"store"}, {"store", "--help"}, {"store", "tables"}}) {
    Harness h;
    CHECK(h.run(args) == 2);
    CHECK_THAT(h.err.str(), StartsWith("millrace store: usage: millrace store partitions"));
  }
  Harness help;
  CHECK(help.run({"store", "partitions", "--help"}) == 0);
  CHECK_THAT(help.out.str(), Contains("--exact"));
}

TEST_CASE("split_list drops empty items, join puts a comma and a space between") {
  using millrace::cli::join;
  using millrace::cli::split_list;
  CHECK(split_list("a,b,,c,") == std::vector<std::string>{"a", "b", "c"});
  CHECK(split_list("").empty());
  CHECK(join({"a", "b"}) == "a, b");
  CHECK(join({}).empty());
}

TEST_CASE("format keeps printf's columns") {
  CHECK(millrace::cli::format("%-5s|%4d|%s", "ab", 7, "") == "ab   |   7|");
  CHECK(millrace::cli::format("%s", std::string(300, 'x').c_str()).size() == 300);
}
