// SIGHUP against the test stack (docs/operations.md, "Reloading settings
// (SIGHUP)"): millrace-sink re-reads its config file, applies the log level
// and the batch size at once, says what needs a restart and what the
// environment fixes, keeps everything on a broken file, and goes on
// consuming throughout (SIGHUP used to stop it); millrace-webhooks takes a
// new retry schedule.
#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "changes.hpp"
#include "millrace/webhooks/signature.hpp"
#include "pipeline.hpp"
#include "receiver.hpp"
#include "webhooks.hpp"

using namespace millrace::testing;
using std::chrono::seconds;

namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

// A service's log, read from where a step began.
struct Log {
  std::string path;
  std::size_t mark = 0;

  std::string since_mark() const { return read_file(path).substr(mark); }
  void set_mark() { mark = read_file(path).size(); }
  // Whether `text` shows up after the mark within `timeout`; the log's tail
  // goes to the test's output when it does not.
  bool shows(const std::string& text, seconds timeout = seconds(30)) const {
    const bool ok =
        eventually([&] { return since_mark().find(text) != std::string::npos; }, timeout);
    if (!ok) {
      const auto tail = since_mark();
      INFO("log since the step began:\n"
           << tail.substr(tail.size() > 4000 ? tail.size() - 4000 : 0));
      CHECK(ok);
    }
    return ok;
  }
  // The record counts of the debug lines "committed a batch of N record(s)"
  // after the mark.
  std::vector<std::int64_t> batches() const {
    const std::string text = since_mark();
    const std::string word = "committed a batch of ";
    std::vector<std::int64_t> out;
    for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
      out.push_back(std::stoll(text.substr(at + word.size())));
    }
    return out;
  }
};

// Produces `count` more events and waits until the sink stored them all.
void produce_and_catch_up(Pipeline& p, std::int64_t count, std::uint64_t seed) {
  p.produce(count, seed, 0.05);
  REQUIRE(p.wait_caught_up(seconds(180)));
}

}  // namespace

TEST_CASE("SIGHUP re-reads the config file: some settings at once, others after a restart",
          "[reload]") {
  Pipeline p("it_reload");
  const std::string file = p.log_dir + "/" + p.topic + ".sink.conf";
  write_file(file,
             "# millrace-sink, as deployed\n"
             "MILLRACE_LOG_LEVEL=info\n"
             "\n"
             "MILLRACE_BATCH_SIZE=5000\n");
  // The pipeline sets MILLRACE_BATCH_MS=100 in the sink's environment.
  auto sink = p.start_sink("sink", {{"MILLRACE_CONFIG_FILE", file}});
  Log log{p.log_dir + "/" + p.topic + ".sink.log"};
  REQUIRE(log.shows("--batch-size = 5000  (file " + file + ":4)"));
  produce_and_catch_up(p, 1'000, 4711);
  CHECK(log.batches().empty());  // info: no debug lines

  // The same file again: the re-read says nothing changed.
  log.set_mark();
  sink.signal(SIGHUP);
  CHECK(log.shows("INFO sink: SIGHUP: re-read " + file +
                  ": 0 applied, 0 needing a restart, 0 fixed by the environment or a flag"));
  produce_and_catch_up(p, 200, 4715);

  // A good file: applied, needing a restart, fixed by the environment.
  write_file(file,
             "MILLRACE_LOG_LEVEL=debug\n"
             "MILLRACE_BATCH_SIZE=7\n"
             "MILLRACE_BATCH_MS=250\n"
             "MILLRACE_STALL_TIMEOUT_S=120\n");
  log.set_mark();
  sink.signal(SIGHUP);
  CHECK(log.shows("INFO sink: SIGHUP: --log-level info -> debug"));
  CHECK(log.shows("INFO sink: SIGHUP: --batch-size 5000 -> 7"));
  CHECK(
      log.shows("WARN sink: SIGHUP: --stall-timeout-s 1m -> 2m needs a restart; 1m stays in force "
                "until then"));
  CHECK(
      log.shows("WARN sink: SIGHUP: --batch-ms stays 100ms, fixed by env MILLRACE_BATCH_MS: a "
                "reload cannot change it to the file's 250ms"));
  CHECK(log.shows("INFO sink: SIGHUP: re-read " + file +
                  ": 2 applied, 1 needing a restart, 1 fixed by the environment or a flag"));
  CHECK(sink.running());

  // Debug lines now, one per committed batch, and no batch above 7.
  produce_and_catch_up(p, 500, 4712);
  auto sizes = log.batches();
  INFO("batch sizes after the reload: " << Catch::Detail::stringify(sizes));
  REQUIRE(!sizes.empty());
  CHECK(std::all_of(sizes.begin(), sizes.end(), [](auto n) { return n >= 1 && n <= 7; }));
  CHECK(std::count(sizes.begin(), sizes.end(), 7) > 0);

  // A broken file: the error names file, line and variable, and every
  // setting stays (debug, batches of 7 at most), while the sink consumes on.
  write_file(file,
             "MILLRACE_LOG_LEVEL=info\n"
             "MILLRACE_BATCH_SIZE=lots\n");
  log.set_mark();
  sink.signal(SIGHUP);
  CHECK(log.shows("ERROR sink: SIGHUP: " + file +
                  ":2: MILLRACE_BATCH_SIZE: expected an integer between 1 and 1000000, got "
                  "\"lots\"; keeping every setting as it was"));
  CHECK(log.since_mark().find("SIGHUP: --") == std::string::npos);  // nothing applied
  produce_and_catch_up(p, 300, 4713);
  CHECK(sink.running());
  sizes = log.batches();
  INFO("batch sizes after the broken file: " << Catch::Detail::stringify(sizes));
  REQUIRE(!sizes.empty());
  CHECK(std::all_of(sizes.begin(), sizes.end(), [](auto n) { return n >= 1 && n <= 7; }));

  // A name no option reads is refused the same way.
  write_file(file, "MILLRACE_LOG_LEVEL=info\nMILLRACE_BATCH_SZIE=10\n");
  log.set_mark();
  sink.signal(SIGHUP);
  CHECK(log.shows("ERROR sink: SIGHUP: " + file +
                  ":2: MILLRACE_BATCH_SZIE is not a setting of millrace-sink"));

  // Back to info: the debug lines stop.
  write_file(file, "MILLRACE_LOG_LEVEL=info\nMILLRACE_BATCH_SIZE=5000\n");
  log.set_mark();
  sink.signal(SIGHUP);
  CHECK(log.shows("INFO sink: SIGHUP: --log-level debug -> info"));
  CHECK(log.shows("INFO sink: SIGHUP: re-read " + file + ": 2 applied"));
  log.set_mark();
  produce_and_catch_up(p, 300, 4714);
  CHECK(log.batches().empty());

  CHECK(sink.running());
  p.verify();
  CHECK(stop_cleanly({&sink}));
}

TEST_CASE("SIGHUP without a config file changes nothing and stops nothing", "[reload-nofile]") {
  Pipeline p("it_reload_none");
  auto sink = p.start_sink("sink");
  Log log{p.log_dir + "/" + p.topic + ".sink.log"};
  REQUIRE(log.shows("consuming " + p.topic));
  sink.signal(SIGHUP);
  CHECK(log.shows(
      "INFO sink: SIGHUP: no config file to re-read (--config-file / MILLRACE_CONFIG_FILE is "
      "not set); settings unchanged"));
  produce_and_catch_up(p, 500, 4716);
  CHECK(sink.running());
  CHECK(read_file(log.path).find("finishing in-flight work") == std::string::npos);
  p.verify();
  CHECK(stop_cleanly({&sink}));
}

TEST_CASE("SIGHUP gives millrace-webhooks a new retry schedule", "[reload-webhooks]") {
  Pipeline p("it_reload_wh");
  migrate_with_table(p, "items (id int PRIMARY KEY, name text)");
  ChangeFeedRig rig(p, {"items"});
  auto feed = rig.start("changefeed");
  rig.wait_streaming();
  Receiver rx;
  const auto secret = millrace::webhooks::new_secret();
  rx.set_secrets("/fail", {secret});
  rx.script("/fail", [](const Received&, int) { return Answer{500, std::nullopt}; });
  add_endpoint(p, rx.url("/fail"), secret);

  // Started with a schedule that would retry in an hour.
  const std::string file = p.log_dir + "/" + p.topic + ".hooks.conf";
  write_file(file, "MILLRACE_WEBHOOKS_RETRY_SCHEDULE=1h,1h\n");
  auto hooks = start_webhooks(p, rig, "hooks", "", {{"MILLRACE_CONFIG_FILE", file}});
  Log log{p.log_dir + "/" + p.topic + ".hooks.log"};
  REQUIRE(log.shows("--retry-schedule = 1h,1h  (file " + file + ":1)"));
  write_file(file, "MILLRACE_WEBHOOKS_RETRY_SCHEDULE=200ms,200ms\n");
  log.set_mark();
  hooks.signal(SIGHUP);
  REQUIRE(log.shows("INFO webhooks: SIGHUP: --retry-schedule 1h,1h -> 200ms,200ms"));

  // A change whose every delivery fails: tried, retried twice within a
  // second (not in an hour), then kept as failed.
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("INSERT INTO " + p.schema + ".items VALUES (1, 'kite')");
    tx.commit();
  }
  std::string state;
  const bool failed = eventually(
      [&] {
        pqxx::connection c(p.env.pg);
        pqxx::nontransaction tx(c);
        const auto r =
            tx.exec("SELECT status || ' ' || attempts FROM " + p.schema + ".webhook_deliveries");
        state = r.empty() ? "none" : r[0][0].c_str();
        return state == "failed 3";
      },
      seconds(60));
  INFO("the delivery: " << state);
  CHECK(failed);
  CHECK(rx.requests("/fail").size() == 3);
  CHECK(hooks.running());
  CHECK(stop_cleanly({&hooks, &feed}));
}
