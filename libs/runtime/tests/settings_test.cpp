// runtime::ServiceSettings: a SIGHUP's re-read of the config file reaches a
// running service's copy of its Config through runtime::Reloaded, and a bad
// file changes nothing.
#include "millrace/runtime/settings.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "millrace/core/setting.hpp"
#include "millrace/runtime/reloaded.hpp"

namespace demo {

struct Config {
  std::int64_t batch = 5000;
  std::int64_t workers = 4;
  millrace::runtime::Reloaded<std::int64_t> reloaded_batch;
};

void register_options(millrace::core::OptionSet& o, Config& c) {
  millrace::core::declare(o, &c.batch,
                          {.flag = "batch-size",
                           .env = "MILLRACE_BATCH_SIZE",
                           .help = "Batch size",
                           .min = 1,
                           .max = 100'000,
                           .reload = [&c] { c.reloaded_batch.set(c.batch); }});
  millrace::core::declare(
      o, &c.workers,
      {.flag = "workers", .env = "MILLRACE_WORKERS", .help = "Workers", .min = 1, .max = 64});
}

void validate(const Config& c) {
  if (c.workers == 13) throw millrace::core::UsageError("--workers must not be 13");
}

}  // namespace demo

namespace {

using millrace::runtime::Level;
using millrace::runtime::ServiceSettings;

struct Rig {
  std::string path = "/tmp/millrace_settings_test_" + std::to_string(::getpid()) + ".conf";
  ServiceSettings<demo::Config> settings{"millrace-demo", "A demo.", "demo"};

  ~Rig() {
    std::remove(path.c_str());
    millrace::runtime::set_log_level(Level::kInfo);
  }
  void write(const std::string& text) const { std::ofstream(path, std::ios::trunc) << text; }
  std::optional<int> parse(std::vector<std::string> args = {}) {
    std::vector<std::string> all{"millrace-demo", "--config-file", path};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    return settings.parse(static_cast<int>(argv.size()), argv.data());
  }
};

}  // namespace

TEST_CASE("SIGHUP: a reloadable setting reaches the service's copy, the others wait",
          "[settings]") {
  Rig rig;
  rig.write("MILLRACE_BATCH_SIZE=100\nMILLRACE_LOG_LEVEL=warn\n");
  REQUIRE_FALSE(rig.parse());
  CHECK(millrace::runtime::log_level() == Level::kWarn);
  const demo::Config running = rig.settings.config();  // what make() is given
  CHECK(running.batch == 100);
  CHECK(running.reloaded_batch.value_or(running.batch) == 100);

  rig.write("MILLRACE_BATCH_SIZE=7\nMILLRACE_WORKERS=8\nMILLRACE_LOG_LEVEL=debug\n");
  rig.settings.reload();
  CHECK(running.reloaded_batch.value_or(running.batch) == 7);
  CHECK(millrace::runtime::log_level() == Level::kDebug);
  CHECK(rig.settings.config().workers == 4);  // needs a restart

  // A bad value, a value validate() refuses, a missing file: nothing moves.
  for (const char* bad :
       {"MILLRACE_BATCH_SIZE=lots\n", "MILLRACE_BATCH_SIZE=9\nMILLRACE_WORKERS=13\n",
        "MILLRACE_BATCH_SIZE=9\nMILLRACE_LOG_LEVEL=loud\n",
        "MILLRACE_BATCH_SIZE=9\nMILLRACE_NOPE=1\n"}) {
    INFO(bad);
    rig.write(bad);
    rig.settings.reload();
    CHECK(running.reloaded_batch.value_or(running.batch) == 7);
    CHECK(millrace::runtime::log_level() == Level::kDebug);
  }
  std::remove(rig.path.c_str());
  rig.settings.reload();
  CHECK(running.reloaded_batch.value_or(running.batch) == 7);
}

TEST_CASE("SIGHUP: a flag fixes what the file cannot change", "[settings]") {
  Rig rig;
  rig.write("MILLRACE_BATCH_SIZE=100\n");
  REQUIRE_FALSE(rig.parse({"--batch-size", "50"}));
  const demo::Config running = rig.settings.config();
  rig.write("MILLRACE_BATCH_SIZE=7\n");
  rig.settings.reload();
  CHECK(running.reloaded_batch.value_or(running.batch) == 50);
}

TEST_CASE("a bad config file at start is a usage error (exit 2)", "[settings]") {
  Rig rig;
  rig.write("MILLRACE_BATCH_SIZE=7\nMILLRACE_BATCH_SZIE=8\n");
  CHECK(rig.parse() == 2);
}
