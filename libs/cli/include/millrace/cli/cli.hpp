#pragma once

// `millrace`, the command line: every command's flags, decisions and
// output. services/cli/main.cpp calls main(); the unit tests call run()
// with a Context of their own: in-memory streams, an environment and the
// fakes of the ports (ports.hpp).

#include <atomic>
#include <chrono>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "millrace/archive/index.hpp"
#include "millrace/archive/replay.hpp"
#include "millrace/catalog/fetch.hpp"
#include "millrace/cli/ports.hpp"
#include "millrace/objstore/options.hpp"
#include "millrace/objstore/store.hpp"
#include "millrace/pg/options.hpp"

namespace millrace::cli {

// What the commands reach outside the process through. real_backend()
// gives the real ones; a test sets the members it needs.
struct Backend {
  // PostgreSQL behind each port; `application` is the connection's
  // application_name.
  std::function<std::unique_ptr<CatalogDb>(const pg::PgOptions&)> catalog_db;
  std::function<std::unique_ptr<ChangefeedDb>(const pg::PgOptions&, const std::string& application)>
      changefeed_db;
  std::function<std::unique_ptr<WebhooksDb>(const pg::PgOptions&)> webhooks_db;
  std::function<std::unique_ptr<ArchiveDb>(const pg::PgOptions&)> archive_db;
  // `catalog load URL`'s download (catalog::fetch).
  std::function<catalog::Fetched(const std::string&, const catalog::FetchLimits&)> fetch;
  // The archive (objstore::open_store).
  std::function<std::unique_ptr<objstore::ObjectStore>(const objstore::StoreOptions&)> open_store;
  // `archive replay`'s producing (archive::replay).
  std::function<archive::ReplaySummary(
      const archive::ReplayRequest&, const std::vector<archive::ArchivedFile>&,
      const std::function<void(const archive::ReplayProgress&)>&, const std::atomic<bool>&)>
      replay;
  // From this call on, SIGINT and SIGTERM set the flag returned
  // (`produce`, `archive replay`: what was queued is still delivered).
  std::function<std::atomic<bool>&()> stop_on_signals;
  // From this call on, SIGINT and SIGTERM are received by the function
  // returned, which waits up to its period and returns true if one came
  // (`catalog load --every`). Called before any thread starts.
  std::function<std::function<bool(std::chrono::seconds)>()> shutdown_wait;
};

Backend real_backend();

// One run's input, outputs, environment (MILLRACE_* variables) and backend.
struct Context {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  std::map<std::string, std::string> env;
  Backend backend;
};

// `millrace ARGS...` (ARGS without the program's name): the exit status.
// 0 done, 1 failed, 2 misuse (an unknown command, a bad flag or value).
int run(const std::vector<std::string>& args, Context& context);

// The process: std::cin, std::cout, std::cerr, the environment and
// real_backend().
int main(int argc, char** argv);

}  // namespace millrace::cli
