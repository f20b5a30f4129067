// The option parser (OptionSet): precedence, flag forms, usage errors, help,
// the docs' reference, describe and its masking, check-config and fallbacks.
#include "millrace/core/options.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>

#include "millrace/core/setting.hpp"

using namespace millrace::core;

namespace {

struct Config {
  std::string brokers = "localhost:9092";
  std::string database = "postgresql://millrace:s3cret@db:5432/millrace";
  std::string password = "hunter2";
  std::int64_t count = 1000;
  std::int64_t batch_size = 500;
  double bad_ratio = 0.0;
  bool embed = false;
};

struct Fixture {
  Config config;
  OptionSet set{"millrace-test", "Exercises the option parser."};
  Fixture() {
    declare(set, &config.brokers,
            {.flag = "brokers", .env = "MILLRACE_BROKERS", .help = "Kafka bootstrap servers."});
    declare(set, &config.database,
            {.flag = "database", .env = "MILLRACE_DATABASE", .help = "PostgreSQL conninfo."});
    declare(set, &config.password,
            {.flag = "password",
             .env = "MILLRACE_PASSWORD",
             .help = "A secret.",
             .shown = Shown::kSecret});
    declare(set, &config.count,
            {.flag = "count",
             .env = "MILLRACE_COUNT",
             .help = "Messages to send.",
             .min = 1,
             .max = 100'000'000});
    declare(set, &config.batch_size,
            {.flag = "--batch-size",
             .env = "MILLRACE_BATCH_SIZE",
             .help = "Rows per batch.",
             .min = 1,
             .max = 100'000});
    declare(set, &config.bad_ratio,
            {.flag = "bad-ratio",
             .env = "MILLRACE_BAD_RATIO",
             .help = "Share of bad ones.",
             .min = 0.0,
             .max = 1.0});
    declare(set, &config.embed,
            {.flag = "embed", .env = "MILLRACE_EMBED", .help = "Put event_type in the body."});
  }
  std::vector<std::string> parse(std::map<std::string, std::string> env,
                                 std::vector<std::string> args) {
    return set.parse(env, args);
  }
};

std::string usage_error(Fixture& f, std::map<std::string, std::string> env,
                        std::vector<std::string> args) {
  try {
    f.parse(std::move(env), std::move(args));
  } catch (const UsageError& e) {
    return e.what();
  }
  FAIL("no UsageError");
  return {};
}

}  // namespace

TEST_CASE("defaults apply when nothing is given", "[options]") {
  Fixture f;
  CHECK(f.parse({}, {}).empty());
  CHECK(f.config.count == 1000);
  CHECK(f.config.brokers == "localhost:9092");
  CHECK_FALSE(f.config.embed);
  CHECK_FALSE(f.set.help_requested());
}

TEST_CASE("precedence: default < environment < flag", "[options]") {
  Fixture f;
  f.parse({{"MILLRACE_COUNT", "7"},
           {"MILLRACE_BATCH_SIZE", "9"},
           {"MILLRACE_EMBED", "true"},
           {"MILLRACE_BAD_RATIO", "0.25"},
           {"UNRELATED", "x"}},
          {"--count", "8", "--bad-ratio=0.5"});
  CHECK(f.config.count == 8);                   // flag over env
  CHECK(f.config.batch_size == 9);              // env over default
  CHECK(f.config.embed);                        // env
  CHECK(f.config.bad_ratio == 0.5);             // flag over env
  CHECK(f.config.brokers == "localhost:9092");  // default
}

TEST_CASE("flag forms", "[options]") {
  Fixture f;
  const auto positional = f.parse(
      {}, {"in.ndjson", "--brokers=k1:9092,k2:9092", "--batch-size", "50", "--embed", "out", "-"});
  CHECK(positional == std::vector<std::string>{"in.ndjson", "out", "-"});
  CHECK(f.config.brokers == "k1:9092,k2:9092");
  CHECK(f.config.batch_size == 50);
  CHECK(f.config.embed);

  Fixture g;
  g.config.embed = true;
  g.parse({}, {"--embed=false", "--brokers=", "--", "--count", "3"});
  CHECK_FALSE(g.config.embed);
  CHECK(g.config.brokers.empty());
  CHECK(g.config.count == 1000);  // after "--" everything is positional

  Fixture h;
  CHECK(h.parse({}, {"--", "--count", "3"}) == std::vector<std::string>{"--count", "3"});

  for (const char* yes : {"1", "yes", "on", "TRUE"}) {
    Fixture b;
    b.parse({{"MILLRACE_EMBED", yes}}, {});
    CHECK(b.config.embed);
  }
  for (const char* no : {"0", "no", "off", "False"}) {
    Fixture b;
    b.config.embed = true;
    b.parse({}, {std::string("--embed=") + no});
    CHECK_FALSE(b.config.embed);
  }
}

TEST_CASE("negative numbers are values, not flags", "[options]") {
  struct Signed {
    std::int64_t offset = 0;
    double shift = 0;
  } s;
  OptionSet set("t", "");
  declare(set, &s.offset, {.flag = "offset", .help = "", .min = -100, .max = 100});
  declare(set, &s.shift, {.flag = "shift", .help = "", .min = -1, .max = 1});
  set.parse({}, {"--offset", "-5", "--shift", "-0.5"});
  CHECK(s.offset == -5);
  CHECK(s.shift == -0.5);
}

TEST_CASE("usage errors name the flag or variable and the accepted form", "[options]") {
  Fixture f;
  CHECK(usage_error(f, {}, {"--count", "abc"}) ==
        "--count: expected an integer between 1 and 100000000, got \"abc\"");
  CHECK(usage_error(f, {}, {"--count=0"}) ==
        "--count: expected an integer between 1 and 100000000, got \"0\"");
  CHECK(usage_error(f, {}, {"--count=12abc"}) ==
        "--count: expected an integer between 1 and 100000000, got \"12abc\"");
  CHECK(usage_error(f, {}, {"--count="}) ==
        "--count: expected an integer between 1 and 100000000, got \"\"");
  CHECK(usage_error(f, {}, {"--count", "99999999999999999999"}) ==
        "--count: expected an integer between 1 and 100000000, got \"99999999999999999999\"");
  CHECK(usage_error(f, {{"MILLRACE_BATCH_SIZE", "x"}}, {}) ==
        "MILLRACE_BATCH_SIZE: expected an integer between 1 and 100000, got \"x\"");
  CHECK(usage_error(f, {{"MILLRACE_BATCH_SIZE", "100001"}}, {}) ==
        "MILLRACE_BATCH_SIZE: expected an integer between 1 and 100000, got \"100001\"");
  CHECK(usage_error(f, {}, {"--bad-ratio", "1.5"}) ==
        "--bad-ratio: expected a number between 0 and 1, got \"1.5\"");
  CHECK(usage_error(f, {}, {"--bad-ratio", "nan"}) ==
        "--bad-ratio: expected a number between 0 and 1, got \"nan\"");
  CHECK(usage_error(f, {{"MILLRACE_BAD_RATIO", "lots"}}, {}) ==
        "MILLRACE_BAD_RATIO: expected a number between 0 and 1, got \"lots\"");
  CHECK(usage_error(f, {}, {"--embed=maybe"}) == "--embed: expected true or false, got \"maybe\"");
  CHECK(usage_error(f, {{"MILLRACE_EMBED", ""}}, {}) ==
        "MILLRACE_EMBED: expected true or false, got \"\"");
  CHECK(usage_error(f, {}, {"--nope"}) == "unknown flag --nope (see --help)");
  CHECK(usage_error(f, {}, {"--nope=1"}) == "unknown flag --nope (see --help)");
  CHECK(usage_error(f, {}, {"--count"}) == "--count: missing value");
  CHECK(usage_error(f, {}, {"--brokers", "--embed"}) == "--brokers: missing value");
}

TEST_CASE("the help flags request help even next to bad input", "[options]") {
  for (const char* flag : {"--help", "-h"}) {
    Fixture f;
    CHECK(f.parse({{"MILLRACE_COUNT", "bad"}}, {"--count", "bad", flag}).empty());
    CHECK(f.set.help_requested());
  }
  Fixture f;
  f.parse({}, {"--", "--help"});
  CHECK_FALSE(f.set.help_requested());
}

TEST_CASE("help lists every flag with its env variable and default", "[options]") {
  Fixture f;
  const std::string help = f.set.help();
  CHECK(help.find("Usage: millrace-test") != std::string::npos);
  CHECK(help.find("Exercises the option parser.") != std::string::npos);
  CHECK(help.find("--count VALUE  (env MILLRACE_COUNT, default 1000)  Messages to send.") !=
        std::string::npos);
  CHECK(help.find("--batch-size VALUE  (env MILLRACE_BATCH_SIZE, default 500)") !=
        std::string::npos);
  CHECK(help.find("--bad-ratio VALUE  (env MILLRACE_BAD_RATIO, default 0)") != std::string::npos);
  CHECK(help.find("--embed  (env MILLRACE_EMBED, default false)") != std::string::npos);
  CHECK(help.find("--brokers VALUE  (env MILLRACE_BROKERS, default localhost:9092)") !=
        std::string::npos);
  CHECK(help.find("--help") != std::string::npos);
  // Defaults of secrets and passwords in connection strings stay hidden.
  CHECK(help.find("hunter2") == std::string::npos);
  CHECK(help.find("s3cret") == std::string::npos);
  // Help shows defaults even after parsing changed the values.
  f.parse({}, {"--count", "5"});
  CHECK(f.set.help().find("default 1000") != std::string::npos);
}

TEST_CASE("reference: one tab-separated line per option, for the docs' tables", "[options]") {
  Fixture f;
  f.set.add_env_fallback("database", "MILLRACE_DB");
  f.set.add_env_fallback("database", "MILLRACE_OLD_DB", "set MILLRACE_DATABASE instead");
  f.set.reloadable("batch-size", [] {});
  const std::string reference = f.set.reference();
  CHECK(reference.find("count\tMILLRACE_COUNT\t1000\trestart\tMessages to send.\n") !=
        std::string::npos);
  CHECK(reference.find("batch-size\tMILLRACE_BATCH_SIZE\t500\treload\tRows per batch.\n") !=
        std::string::npos);
  // Fallbacks in the order they are read; a deprecated one is not offered.
  CHECK(reference.find("database\tMILLRACE_DATABASE,MILLRACE_DB\t") != std::string::npos);
  CHECK(reference.find("MILLRACE_OLD_DB") == std::string::npos);
  // Defaults as help() shows them: secrets hidden.
  CHECK(reference.find("hunter2") == std::string::npos);
  CHECK(reference.find("s3cret") == std::string::npos);
  CHECK(std::count(reference.begin(), reference.end(), '\n') == 7);
}

TEST_CASE("describe shows effective values, their source, and hides secrets", "[options]") {
  Fixture f;
  f.parse(
      {{"MILLRACE_COUNT", "12"}, {"MILLRACE_DATABASE", "host=db user=u password='p w' dbname=m"}},
      {"--password", "topsecret", "--embed"});
  const std::string d = f.set.describe();
  CHECK(d.find("--count = 12  (env MILLRACE_COUNT)") != std::string::npos);
  CHECK(d.find("--batch-size = 500  (default)") != std::string::npos);
  CHECK(d.find("--embed = true  (flag)") != std::string::npos);
  CHECK(d.find("--password = ***  (flag)") != std::string::npos);
  CHECK(d.find("--database = host=db user=u password=*** dbname=m  (env MILLRACE_DATABASE)") !=
        std::string::npos);
  CHECK(d.find("topsecret") == std::string::npos);
  CHECK(d.find("p w") == std::string::npos);
}

TEST_CASE("an option is masked by its name, or as a property list", "[options]") {
  OptionSet set("t", "t");
  std::string token, plain, props;
  declare(set, &token,
          {.flag = "admin-token", .help = "named a secret: masked without being told"});
  declare(set, &plain, {.flag = "tables", .help = "not a secret: shown"});
  declare(set, &props,
          {.flag = "kafka-properties", .help = "a property list", .shown = Shown::kPropertyList});
  set.parse({}, {"--admin-token", "tok3n", "--tables", "a,b", "--kafka-properties",
                 "ssl.key.pem=-----BEGIN PRIVATE KEY----- MIIE pem -----END PRIVATE KEY-----,"
                 "linger.ms=5,sasl.oauthbearer.client.secret=oauth5"});
  const std::string d = set.describe();
  CHECK(d.find("--admin-token = ***  (flag)") != std::string::npos);
  CHECK(d.find("--tables = a,b  (flag)") != std::string::npos);
  CHECK(d.find("--kafka-properties = ssl.key.pem=***,linger.ms=5,"
               "sasl.oauthbearer.client.secret=***  (flag)") != std::string::npos);
  for (const char* leaked : {"tok3n", "MIIE", "PRIVATE", "oauth5"}) {
    CHECK(d.find(leaked) == std::string::npos);
  }
}

TEST_CASE("environment_map reads the process environment", "[options]") {
  ::setenv("MILLRACE_OPTIONS_TEST", "a=b", 1);
  const auto env = environment_map();
  REQUIRE(env.count("MILLRACE_OPTIONS_TEST") == 1);
  CHECK(env.at("MILLRACE_OPTIONS_TEST") == "a=b");
  ::unsetenv("MILLRACE_OPTIONS_TEST");
}

TEST_CASE("registration mistakes throw", "[options]") {
  Config c;
  OptionSet set("t", "");
  declare(set, &c.count,
          {.flag = "count", .env = "MILLRACE_COUNT", .help = "", .min = 1, .max = 10});
  CHECK_THROWS_AS(
      declare(set, &c.count, {.flag = "count", .env = "OTHER", .help = "", .min = 1, .max = 10}),
      std::invalid_argument);
  CHECK_THROWS_AS(
      declare(set, &c.count,
              {.flag = "other", .env = "MILLRACE_COUNT", .help = "", .min = 1, .max = 10}),
      std::invalid_argument);
  CHECK_THROWS_AS(declare(set, &c.count, {.flag = "bad", .help = "", .min = 10, .max = 1}),
                  std::invalid_argument);
  CHECK_THROWS_AS(declare(set, &c.embed, {.flag = "help", .help = ""}), std::invalid_argument);
  OptionSet moved = std::move(set);
  moved.parse({}, {"--count=3"});
  CHECK(c.count == 3);
}

TEST_CASE("the check-config flag is known only where enabled, and still parses everything",
          "[options]") {
  {
    Fixture f;
    CHECK(usage_error(f, {}, {"--check-config"}) == "unknown flag --check-config (see --help)");
    CHECK(f.set.help().find("--check-config") == std::string::npos);
  }
  Fixture f;
  f.set.enable_check_config();
  CHECK(f.set.help().find("--check-config  Validate the configuration") != std::string::npos);
  CHECK(f.parse({{"MILLRACE_COUNT", "7"}}, {"--check-config", "--embed"}).empty());
  CHECK(f.set.check_config_requested());
  CHECK(f.config.count == 7);
  CHECK(f.config.embed);
  // A bad value is still a usage error: checking must not pass what starting would refuse.
  Fixture bad;
  bad.set.enable_check_config();
  CHECK(usage_error(bad, {{"MILLRACE_COUNT", "0"}}, {"--check-config"}) ==
        "MILLRACE_COUNT: expected an integer between 1 and 100000000, got \"0\"");
}

TEST_CASE("check-config cannot be registered as an option", "[options]") {
  Fixture f;
  std::string flag;
  CHECK_THROWS_AS(declare(f.set, &flag, {.flag = "check-config", .help = "clash"}),
                  std::invalid_argument);
}

TEST_CASE("unread_env names MILLRACE_ variables no option reads", "[options]") {
  Fixture f;
  const std::map<std::string, std::string> env = {{"MILLRACE_COUNT", "1"},
                                                  {"MILLRACE_BATCH_SZIE", "9"},
                                                  {"MILLRACE_PG", "x"},
                                                  {"PATH", "/bin"},
                                                  {"MILLRACEX", "y"}};
  CHECK(f.set.unread_env(env) == std::vector<std::string>{"MILLRACE_BATCH_SZIE", "MILLRACE_PG"});
  CHECK(f.set.unread_env(env, "PA") == std::vector<std::string>{"PATH"});
}

TEST_CASE("check_report names the program, the settings and the unread variables", "[options]") {
  Fixture f;
  const std::map<std::string, std::string> env = {{"MILLRACE_COUNT", "3"},
                                                  {"MILLRACE_BATCH_SZIE", "9"}};
  f.parse(env, {});
  const std::string report = f.set.check_report("millrace-test", env);
  CHECK(report.rfind("millrace-test: configuration is valid\n  --brokers = ", 0) == 0);
  CHECK(report.find("--count = 3  (env MILLRACE_COUNT)") != std::string::npos);
  CHECK(report.find("--password = ***") != std::string::npos);
  CHECK(report.find("hunter2") == std::string::npos);
  CHECK(report.find("note: MILLRACE_BATCH_SZIE is set but millrace-test does not read it\n") !=
        std::string::npos);
}

TEST_CASE("a fallback variable is read when the option's own is unset", "[options]") {
  std::string url;
  OptionSet set("prog", "");
  declare(set, &url, {.flag = "pg", .env = "MILLRACE_SINK_PG", .help = "conninfo"});
  set.add_env_fallback("pg", "MILLRACE_SINK_DSN", "set MILLRACE_SINK_PG instead");
  set.add_env_fallback("pg", "MILLRACE_PG");
  set.parse({{"MILLRACE_PG", "shared"}}, {});
  CHECK(url == "shared");
  CHECK(set.notes().empty());
  CHECK_THAT(set.describe(), Catch::Contains("(env MILLRACE_PG)"));
  CHECK_THAT(set.help(), Catch::Contains("env MILLRACE_SINK_PG, or MILLRACE_PG"));
  set.parse({{"MILLRACE_PG", "shared"}, {"MILLRACE_SINK_DSN", "old"}}, {});
  CHECK(url == "old");
  REQUIRE(set.notes().size() == 1);
  CHECK_THAT(set.notes()[0], Catch::Contains("MILLRACE_SINK_DSN is deprecated"));
  set.parse({{"MILLRACE_PG", "shared"}, {"MILLRACE_SINK_DSN", "old"}, {"MILLRACE_SINK_PG", "own"}},
            {});
  CHECK(url == "own");
  CHECK(set.notes().empty());
  CHECK(set.unread_env({{"MILLRACE_PG", "x"}, {"MILLRACE_SINK_DSN", "y"}}).empty());
  CHECK_THROWS_AS(set.add_env_fallback("nosuch", "MILLRACE_X"), std::logic_error);
}
