#include "millrace/core/setting.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "millrace/core/enum_names.hpp"
#include "millrace/core/options.hpp"

using namespace millrace::core;

namespace {

enum class Mode : std::uint8_t { kFast, kSafe };
constexpr EnumNames<Mode, 2> kModeNames({{Mode::kFast, "fast"}, {Mode::kSafe, "safe"}});

struct Config {
  std::string name = "a";
  std::string password = "hunter2";
  std::string format = "json";
  std::int64_t count = 10;
  std::int64_t window_s = 60;
  double ratio = 0.5;
  bool embed = false;
  std::vector<std::string> tables = {"t"};
  Mode mode = Mode::kSafe;
};

}  // namespace

TEST_CASE("declare registers each type as its member and declaration say") {
  Config c;
  int reloads = 0;
  OptionSet o("millrace-test", "");
  declare(o, &c.name, {.flag = "name", .env = "MILLRACE_NAME", .help = "A name"});
  declare(o, &c.password,
          {.flag = "password", .env = "MILLRACE_PASSWORD", .help = "", .shown = Shown::kSecret});
  declare(o, &c.format,
          {.flag = "format", .env = "MILLRACE_FORMAT", .help = "Form", .choices = {"json", "csv"}});
  declare(o, &c.count,
          {.flag = "count",
           .env = "MILLRACE_COUNT",
           .help = "How many",
           .min = 1,
           .max = 100,
           .reload = [&reloads] { ++reloads; }});
  declare(o, &c.window_s,
          {.flag = "window-s",
           .env = "MILLRACE_WINDOW_S",
           .help = "Window",
           .min = 1,
           .max = 3600,
           .unit = DurationUnit::kSeconds});
  declare(o, &c.ratio,
          {.flag = "ratio", .env = "MILLRACE_RATIO", .help = "Share", .min = 0.0, .max = 1.0});
  declare(o, &c.embed, {.flag = "embed", .env = "MILLRACE_EMBED", .help = "Embed"});
  declare(
      o, &c.tables,
      {.flag = "tables",
       .env = "MILLRACE_TABLES",
       .help = "Tables",
       .env_fallbacks = {{.env = "MILLRACE_OLD_TABLES", .deprecation = "set MILLRACE_TABLES"}}});
  declare(o, &c.mode, kModeNames, {.flag = "mode", .env = "MILLRACE_MODE", .help = "Mode"});

  const std::string help = o.help();
  CHECK(help.find("--password VALUE  (env MILLRACE_PASSWORD, default ***)") != std::string::npos);
  CHECK(help.find("Form (json or csv)") != std::string::npos);
  CHECK(help.find("How many [SIGHUP reloads it]") != std::string::npos);
  CHECK(help.find("--window-s DURATION") != std::string::npos);
  CHECK(help.find("Mode (fast or safe)") != std::string::npos);

  o.parse({{"MILLRACE_OLD_TABLES", "x, y"}, {"MILLRACE_WINDOW_S", "2m"}},
          {"--format", "csv", "--count=7", "--ratio", "0.25", "--embed", "--mode", "fast"});
  CHECK(c.format == "csv");
  CHECK(c.count == 7);
  CHECK(c.window_s == 120);
  CHECK(c.ratio == 0.25);
  CHECK(c.embed);
  CHECK(c.tables == std::vector<std::string>{"x", "y"});
  CHECK(c.mode == Mode::kFast);
  REQUIRE(o.notes().size() == 1);
  CHECK_THROWS_AS(o.parse({}, {"--count", "101"}), UsageError);
  CHECK_THROWS_AS(o.parse({}, {"--format", "xml"}), UsageError);
}

TEST_CASE("declare refuses a declaration its type cannot take") {
  Config c;
  OptionSet o("millrace-test", "");
  CHECK_THROWS_AS(declare(o, &c.count, {.flag = "count", .env = "MILLRACE_COUNT"}),
                  std::invalid_argument);
  CHECK_THROWS_AS(declare(o, &c.name, {.flag = "name", .min = 1, .max = 2}), std::invalid_argument);
  CHECK_THROWS_AS(declare(o, &c.embed, {.flag = "embed", .unit = DurationUnit::kSeconds}),
                  std::invalid_argument);
  CHECK_THROWS_AS(
      declare(o, &c.count, {.flag = "count", .min = 1, .max = 2, .shown = Shown::kSecret}),
      std::invalid_argument);
}
