// The settings file (--config-file) and what a SIGHUP makes of a re-read:
// its parser, its place in the precedence, and the changes between two
// parses of the same options.
#include "millrace/core/settings_file.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "millrace/core/options.hpp"
#include "millrace/core/setting.hpp"

using namespace millrace::core;

namespace {

std::string error_of(std::string_view text) {
  try {
    parse_settings_file(text, "/etc/millrace/sink.conf");
  } catch (const UsageError& e) {
    return e.what();
  }
  FAIL("no UsageError");
  return {};
}

struct Config {
  std::int64_t batch_size = 5000;
  std::int64_t batch_ms = 200;
  std::int64_t session_ms = 10000;
  std::string pg = "postgresql://millrace:s3cret@db/millrace";
  std::string token;
};

// One service's options over a config file held in memory, as run_main
// registers them: batch size and time reloadable, the rest not.
struct Service {
  Config config;
  OptionSet set{"millrace-test", "Exercises the settings file."};
  std::map<std::string, std::string> files;
  int applied = 0;

  Service() {
    declare(set, &config.batch_size,
            {.flag = "batch-size",
             .env = "MILLRACE_BATCH_SIZE",
             .help = "Batch size",
             .min = 1,
             .max = 100'000});
    declare(set, &config.batch_ms,
            {.flag = "batch-ms",
             .env = "MILLRACE_BATCH_MS",
             .help = "Batch time",
             .min = 1,
             .max = 60'000});
    declare(set, &config.session_ms,
            {.flag = "session-timeout-ms",
             .env = "MILLRACE_SESSION_TIMEOUT_MS",
             .help = "Session",
             .min = 1000,
             .max = 60'000});
    declare(set, &config.pg, {.flag = "pg", .env = "MILLRACE_PG", .help = "PostgreSQL URL"});
    declare(set, &config.token,
            {.flag = "admin-token",
             .env = "MILLRACE_ADMIN_TOKEN",
             .help = "A secret",
             .shown = Shown::kSecret});
    set.retire_env("MILLRACE_GROUP", "set MILLRACE_SINK_GROUP");
    set.reloadable("batch-size", [this] { ++applied; });
    set.reloadable("batch-ms", [this] { ++applied; });
    set.enable_config_file([this](const std::string& path) {
      const auto it = files.find(path);
      if (it == files.end()) throw UsageError("cannot read " + path);
      return it->second;
    });
  }
  void parse(const std::map<std::string, std::string>& env, std::vector<std::string> args = {}) {
    set.parse(env, args);
  }
  std::string parse_error(const std::map<std::string, std::string>& env) {
    try {
      parse(env);
    } catch (const UsageError& e) {
      return e.what();
    }
    FAIL("no UsageError");
    return {};
  }
};

const std::map<std::string, std::string> kFileEnv{{"MILLRACE_CONFIG_FILE", "/s.conf"}};

}  // namespace

TEST_CASE("a settings file: names and values, comments and blank lines skipped", "[settings]") {
  const auto entries = parse_settings_file(
      "# millrace-sink\n\n  MILLRACE_BATCH_SIZE = 1000 \r\n\t# indented comment\n"
      "MILLRACE_PG=postgresql://u:p@db/m?sslmode=require\nMILLRACE_EMPTY=\n",
      "f");
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].name == "MILLRACE_BATCH_SIZE");
  CHECK(entries[0].value == "1000");
  CHECK(entries[0].line == 3);
  CHECK(entries[1].value == "postgresql://u:p@db/m?sslmode=require");  // '=' in a value
  CHECK(entries[1].line == 5);
  CHECK(entries[2].value.empty());
  CHECK(parse_settings_file("", "f").empty());
}

TEST_CASE("a settings file: a bad line is refused with its file and line", "[settings]") {
  CHECK(error_of("# ok\nMILLRACE_PG_PASSWORD hunter2\n") ==
        "/etc/millrace/sink.conf:2: expected MILLRACE_NAME=value (a comment starts with #)");
  // The line is not echoed: it may hold a secret.
  CHECK(error_of("MILLRACE_PG_PASSWORD hunter2").find("hunter2") == std::string::npos);
  CHECK(error_of("\n\nbatch_size=5") ==
        "/etc/millrace/sink.conf:3: \"batch_size\" is not a MILLRACE_* variable name (expected "
        "MILLRACE_NAME=value)");
  CHECK(error_of("MILLRACE_=5").find(":1: \"MILLRACE_\" is not") != std::string::npos);
  CHECK(error_of("MILLRACE_A=1\nMILLRACE_A=2") ==
        "/etc/millrace/sink.conf:2: MILLRACE_A is set twice (first at line 1)");
}

TEST_CASE("a settings file: a name no option reads is refused, not ignored", "[settings]") {
  Service s;
  s.files["/s.conf"] = "MILLRACE_BATCH_SIZE=10\nMILLRACE_BATCH_SZIE=20\n";
  CHECK(s.parse_error(kFileEnv) ==
        "/s.conf:2: MILLRACE_BATCH_SZIE is not a setting of millrace-test (a misspelt name, or "
        "another program's; see millrace-test --help)");
  Service retired;
  retired.files["/s.conf"] = "MILLRACE_GROUP=g\n";
  CHECK(retired.parse_error(kFileEnv) ==
        "/s.conf:1: MILLRACE_GROUP is no longer read: set MILLRACE_SINK_GROUP");
  Service itself;
  itself.files["/s.conf"] = "MILLRACE_CONFIG_FILE=/other.conf\n";
  CHECK(itself.parse_error(kFileEnv).starts_with("/s.conf:1: MILLRACE_CONFIG_FILE names the file"));
}

TEST_CASE("a settings file: a bad value names file, line and variable", "[settings]") {
  Service s;
  s.files["/s.conf"] = "\nMILLRACE_BATCH_SIZE=lots\n";
  CHECK(s.parse_error(kFileEnv) ==
        "/s.conf:2: MILLRACE_BATCH_SIZE: expected an integer between 1 and 100000, got \"lots\"");
  // Refused even where the environment overrides it.
  Service overridden;
  overridden.files["/s.conf"] = "MILLRACE_BATCH_SIZE=0\n";
  auto env = kFileEnv;
  env["MILLRACE_BATCH_SIZE"] = "7";
  CHECK(overridden.parse_error(env).starts_with("/s.conf:1: MILLRACE_BATCH_SIZE: expected"));
  Service missing;
  CHECK(missing.parse_error(kFileEnv) == "cannot read /s.conf");
}

TEST_CASE("precedence: default < file < environment < flag", "[settings]") {
  Service s;
  s.files["/s.conf"] =
      "MILLRACE_BATCH_SIZE=10\nMILLRACE_BATCH_MS=20\nMILLRACE_SESSION_TIMEOUT_MS=3000\n";
  auto env = kFileEnv;
  env["MILLRACE_BATCH_MS"] = "21";
  env["MILLRACE_SESSION_TIMEOUT_MS"] = "4000";
  s.parse(env, {"--session-timeout-ms", "5000"});
  CHECK(s.config.batch_size == 10);                                  // file over default
  CHECK(s.config.batch_ms == 21);                                    // environment over file
  CHECK(s.config.session_ms == 5000);                                // flag over both
  CHECK(s.config.pg == "postgresql://millrace:s3cret@db/millrace");  // default
  CHECK(s.set.config_file() == "/s.conf");
  const auto d = s.set.describe();
  CHECK(d.find("--batch-size = 10  (file /s.conf:1)") != std::string::npos);
  CHECK(d.find("--batch-ms = 21  (env MILLRACE_BATCH_MS)") != std::string::npos);
  CHECK(d.find("--config-file = /s.conf  (env MILLRACE_CONFIG_FILE)") != std::string::npos);

  // The path may come from a flag too; without one, no file is read.
  Service flagged;
  flagged.files["/f.conf"] = "MILLRACE_BATCH_SIZE=11\n";
  flagged.parse({}, {"--config-file=/f.conf"});
  CHECK(flagged.config.batch_size == 11);
  Service none;
  none.parse({});
  CHECK(none.set.config_file().empty());
  CHECK(none.config.batch_size == 5000);
}

TEST_CASE("a re-read: reloadable changes applied, others need a restart", "[settings]") {
  Service now;
  now.files["/s.conf"] = "MILLRACE_BATCH_SIZE=5000\nMILLRACE_SESSION_TIMEOUT_MS=6000\n";
  now.parse(kFileEnv);
  Service next;
  next.files["/s.conf"] = "MILLRACE_BATCH_SIZE=1000\nMILLRACE_SESSION_TIMEOUT_MS=9000\n";
  next.parse(kFileEnv);

  const auto changes = now.set.changes(next.set);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].kind == OptionSet::Change::Kind::kReload);
  CHECK(changes[0].flag == "batch-size");
  CHECK(changes[0].before == "5000");
  CHECK(changes[0].after == "1000");
  CHECK(changes[1].kind == OptionSet::Change::Kind::kRestart);
  CHECK(changes[1].flag == "session-timeout-ms");
  CHECK(changes[1].after == "9000");

  now.set.adopt(next.set);
  CHECK(now.config.batch_size == 1000);  // taken, and handed on once
  CHECK(now.applied == 1);
  CHECK(now.config.session_ms == 6000);  // kept until a restart
  // Taken is taken: the next re-read of the same file changes nothing more,
  // and still says what waits for a restart.
  const auto again = now.set.changes(next.set);
  REQUIRE(again.size() == 1);
  CHECK(again[0].kind == OptionSet::Change::Kind::kRestart);
  now.set.adopt(next.set);
  CHECK(now.applied == 1);
}

TEST_CASE("a re-read: a value the environment or a flag sets is fixed", "[settings]") {
  auto env = kFileEnv;
  env["MILLRACE_BATCH_MS"] = "100";
  Service now;
  now.files["/s.conf"] = "MILLRACE_BATCH_MS=100\n";
  now.parse(env, {"--batch-size", "50"});
  Service next;
  next.files["/s.conf"] = "MILLRACE_BATCH_MS=250\nMILLRACE_BATCH_SIZE=60\n";
  next.parse(env, {"--batch-size", "50"});
  const auto changes = now.set.changes(next.set);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].kind == OptionSet::Change::Kind::kFixed);
  CHECK(changes[0].flag == "batch-size");
  CHECK(changes[0].before == "50");
  CHECK(changes[0].after == "60");
  CHECK(changes[0].fixed_by == "flag --batch-size");
  CHECK(changes[1].kind == OptionSet::Change::Kind::kFixed);
  CHECK(changes[1].fixed_by == "env MILLRACE_BATCH_MS");
  CHECK(changes[1].after == "250");
  now.set.adopt(next.set);
  CHECK(now.applied == 0);
  CHECK(now.config.batch_ms == 100);
}

TEST_CASE("a re-read: secrets are masked in the changes as describe() masks them", "[settings]") {
  Service now;
  now.files["/s.conf"] =
      "MILLRACE_PG=postgresql://millrace:old-pw@db/millrace\n"
      "MILLRACE_ADMIN_TOKEN=old-token\n";
  now.parse(kFileEnv);
  Service next;
  next.files["/s.conf"] =
      "MILLRACE_PG=postgresql://millrace:new-pw@db2/millrace\n"
      "MILLRACE_ADMIN_TOKEN=new-token\n";
  next.parse(kFileEnv);
  const auto changes = now.set.changes(next.set);
  REQUIRE(changes.size() == 2);  // compared unmasked: a new token is a change
  CHECK(changes[0].before == "postgresql://millrace:***@db/millrace");
  CHECK(changes[0].after == "postgresql://millrace:***@db2/millrace");
  CHECK(changes[1].flag == "admin-token");
  CHECK(changes[1].before == "***");
  CHECK(changes[1].after == "***");
  for (const auto& c : changes) {
    for (const auto* secret : {"old-pw", "new-pw", "old-token", "new-token"}) {
      CHECK(c.before.find(secret) == std::string::npos);
      CHECK(c.after.find(secret) == std::string::npos);
    }
  }
}

TEST_CASE("help names the file and the options SIGHUP reloads", "[settings]") {
  Service s;
  const auto help = s.set.help();
  CHECK(help.find("--config-file VALUE  (env MILLRACE_CONFIG_FILE") != std::string::npos);
  CHECK(help.find("Batch size [SIGHUP reloads it]") != std::string::npos);
  CHECK(help.find("Session [SIGHUP reloads it]") == std::string::npos);
  CHECK(help.find("Precedence: default < --config-file < environment < flag.") !=
        std::string::npos);
}
