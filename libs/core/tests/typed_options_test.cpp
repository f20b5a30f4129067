// The option parser's typed settings: durations in one grammar, choices, an
// enum from its names' table and lists, shown, checked and adopted on SIGHUP.
#include <catch2/catch.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "millrace/core/enum_names.hpp"
#include "millrace/core/options.hpp"
#include "millrace/core/setting.hpp"

using namespace millrace::core;

namespace {

struct Typed {
  std::int64_t batch_ms = 200;
  std::int64_t window_s = 300;
  std::string format = "millrace";
  std::vector<std::string> tables;
  OptionSet set{"millrace-test", "Typed settings."};
  Typed() {
    declare(set, &batch_ms,
            {.flag = "batch-ms",
             .env = "MILLRACE_BATCH_MS",
             .help = "Seal a batch after this long.",
             .min = 1,
             .max = 600'000,
             .unit = DurationUnit::kMilliseconds});
    declare(set, &window_s,
            {.flag = "window-s",
             .env = "MILLRACE_WINDOW_S",
             .help = "Close a file after this long.",
             .min = 1,
             .max = 86'400,
             .unit = DurationUnit::kSeconds});
    declare(set, &format,
            {.flag = "format",
             .env = "MILLRACE_FORMAT",
             .help = "The records' format.",
             .choices = {"millrace", "debezium"}});
    declare(set, &tables,
            {.flag = "tables", .env = "MILLRACE_TABLES", .help = "Tables to publish."});
  }
};

}  // namespace

TEST_CASE("a duration setting takes one grammar, and a bare number in its name's unit",
          "[options]") {
  Typed t;
  t.set.parse({{"MILLRACE_BATCH_MS", "2s"}}, {"--window-s", "5m"});
  CHECK(t.batch_ms == 2000);
  CHECK(t.window_s == 300);
  Typed bare;
  bare.set.parse({{"MILLRACE_BATCH_MS", "250"}}, {"--window-s=60"});
  CHECK(bare.batch_ms == 250);
  CHECK(bare.window_s == 60);
  CHECK_THROWS_WITH(Typed().set.parse({}, {"--window-s", "1500ms"}),
                    "--window-s: expected a whole number of seconds between 1s and 1d, got "
                    "\"1500ms\"");
  CHECK_THROWS_WITH(Typed().set.parse({}, {"--window-s", "2d"}),
                    "--window-s: expected a duration between 1s and 1d, got \"2d\"");
  CHECK_THROWS_WITH(Typed().set.parse({{"MILLRACE_BATCH_MS", "5 s"}}, {}),
                    Catch::StartsWith("MILLRACE_BATCH_MS: \"5 s\" has an unknown unit"));
}

TEST_CASE("help and describe show durations in the grammar, and the choices", "[options]") {
  Typed t;
  const auto help = t.set.help();
  CHECK(help.find("--batch-ms DURATION  (env MILLRACE_BATCH_MS, default 200ms)") !=
        std::string::npos);
  CHECK(help.find("--window-s DURATION  (env MILLRACE_WINDOW_S, default 5m)") != std::string::npos);
  CHECK(help.find("The records' format. (millrace or debezium)") != std::string::npos);
  CHECK(help.find("--tables LIST  (env MILLRACE_TABLES, default \"\")") != std::string::npos);
  t.set.parse({}, {"--batch-ms", "90s"});
  CHECK(t.set.describe().find("--batch-ms = 90s  (flag)") != std::string::npos);
}

TEST_CASE("a choice setting takes only its values, and says which", "[options]") {
  Typed t;
  t.set.parse({{"MILLRACE_FORMAT", "debezium"}}, {});
  CHECK(t.format == "debezium");
  CHECK_THROWS_WITH(Typed().set.parse({}, {"--format", "Debezium"}),
                    "--format: expected millrace or debezium, got \"Debezium\"");
  std::string bad_default = "avro";
  OptionSet set("p", "s");
  CHECK_THROWS_AS(declare(set, &bad_default,
                          {.flag = "format", .help = "", .choices = {"millrace", "debezium"}}),
                  std::invalid_argument);
}

namespace {

enum class Gap : std::uint8_t { kFail, kSkip, kWait };
constexpr millrace::core::EnumNames<Gap, 3> kGapNames({{Gap::kFail, "fail"},
                                                       {Gap::kSkip, "skip"},
                                                       {Gap::kWait, "wait"}});

struct WithEnum {
  Gap gap = Gap::kFail;
  OptionSet set{"millrace-test", "An enum setting."};
  WithEnum() {
    declare(set, &gap, kGapNames,
            {.flag = "on-gap", .env = "MILLRACE_ON_GAP", .help = "What a gap does."});
    set.reloadable("on-gap", [] {});
  }
};

}  // namespace

TEST_CASE("an enum setting is typed: its names from one table, checked, shown, reloaded",
          "[options]") {
  WithEnum t;
  CHECK(t.set.help().find("What a gap does. (fail, skip or wait)") != std::string::npos);
  CHECK(t.set.help().find("default fail") != std::string::npos);
  t.set.parse({{"MILLRACE_ON_GAP", "skip"}}, {});
  CHECK(t.gap == Gap::kSkip);
  CHECK(t.set.describe().find("--on-gap = skip  (env MILLRACE_ON_GAP)") != std::string::npos);
  CHECK_THROWS_WITH(WithEnum().set.parse({}, {"--on-gap", "Skip"}),
                    "--on-gap: expected fail, skip or wait, got \"Skip\"");
  // A file's bad value is refused without touching the setting.
  WithEnum filed;
  filed.set.enable_config_file([](const std::string&) { return "MILLRACE_ON_GAP=never\n"; });
  CHECK_THROWS_WITH(filed.set.parse({}, {"--config-file", "f"}),
                    Catch::Contains("expected fail, skip or wait, got \"never\""));
  CHECK(filed.gap == Gap::kFail);
  // SIGHUP: the change is seen by name, and adopted as the value.
  WithEnum next;
  next.set.parse({}, {"--on-gap", "wait"});
  const auto changes = t.set.changes(next.set);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].before == "skip");
  CHECK(changes[0].after == "wait");
  t.set.adopt(next.set);
  CHECK(t.gap == Gap::kWait);
  CHECK(kGapNames.name(Gap::kWait) == "wait");
  CHECK(kGapNames.parse("skip") == Gap::kSkip);
  CHECK_FALSE(kGapNames.parse("SKIP"));
}

TEST_CASE("a list setting is split once, its items trimmed", "[options]") {
  Typed t;
  t.set.parse({}, {"--tables", " orders, order_lines ,,"});
  CHECK(t.tables == std::vector<std::string>{"orders", "order_lines"});
  CHECK(t.set.describe().find("--tables = orders,order_lines  (flag)") != std::string::npos);
}

TEST_CASE("a config file's typed values are checked, and SIGHUP adopts them", "[options]") {
  Typed now;
  now.set.reloadable("batch-ms", [] {});
  now.set.reloadable("tables", [] {});
  now.set.parse({}, {});
  Typed next;
  next.set.reloadable("batch-ms", [] {});
  next.set.reloadable("tables", [] {});
  next.set.parse({}, {"--batch-ms", "1s", "--tables", "a,b"});
  const auto changes = now.set.changes(next.set);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].before == "200ms");
  CHECK(changes[0].after == "1s");
  now.set.adopt(next.set);
  CHECK(now.batch_ms == 1000);
  CHECK(now.tables == std::vector<std::string>{"a", "b"});
}
