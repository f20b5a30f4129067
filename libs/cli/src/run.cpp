// millrace: the command-line tool's dispatcher and the process around it.
#include <iostream>
#include <string>
#include <vector>

#include "common.hpp"
#include "millrace/cli/cli.hpp"
#include "millrace/core/options.hpp"

namespace millrace::cli {

namespace {

constexpr const char* kTopUsage =
    "usage: millrace <command> [flags]\n"
    "\n"
    "commands:\n"
    "  produce   send synthetic (--count) or NDJSON (--file) store events, or orders (--kind), to "
    "Kafka\n"
    "  generate  write synthetic events to stdout (NDJSON, or COPY rows)\n"
    "  migrate   apply the PostgreSQL schema migrations\n"
    "  create-topics  create the store-events, orders', dead-letter and change feed topics\n"
    "  views     list the analytics views, or print one: views NAME [--format table|json|csv]\n"
    "  catalog load FILE  upsert categories, products or assets (CSV or JSON)\n"
    "  changefeed publish|drop-slot  manage the change feed's publication and slot\n"
    "  outbox install|cleanup  create the outbox table and its publication, delete what is "
    "published\n"
    "  webhooks  register and manage webhook endpoints, list and replay deliveries\n"
    "  grant     grant each service's own role its privileges on the schema, and no more\n"
    "  api grant  grant millrace-api's reader and admin roles their privileges\n"
    "  archive   list, verify and replay what millrace-archiver wrote\n"
    "  store partitions  store_events' partitions: their spans, rows and sizes\n"
    "\n"
    "Run 'millrace <command> --help' for a command's flags.\n";

}  // namespace

int run(const std::vector<std::string>& args, Context& context) {
  if (args.empty()) {
    context.err << kTopUsage;
    return 2;
  }
  const std::string& command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "--help" || command == "-h" || command == "help") {
    context.out << kTopUsage;
    return 0;
  }
  static const std::vector<std::pair<std::string, Command>> commands = {
      {"produce", cmd_produce},
      {"migrate", cmd_migrate},
      {"create-topics", cmd_create_topics},
      {"generate", cmd_generate},
      {"views", cmd_views},
      {"catalog", cmd_catalog},
      {"changefeed", cmd_changefeed},
      {"outbox", cmd_outbox},
      {"webhooks", cmd_webhooks},
      {"archive", cmd_archive},
      {"api", cmd_api},
      {"grant", cmd_grant},
      {"store", cmd_store},
  };
  for (const auto& [name, run_command] : commands) {
    if (name != command) continue;
    try {
      return run_command(rest, context);
    } catch (const std::exception& e) {
      context.out.flush();
      context.err << "millrace " << command << ": " << e.what() << "\n";
      return 1;
    }
  }
  context.err << "millrace: unknown command \"" << command << "\"\n" << kTopUsage;
  return 2;
}

int main(int argc, char** argv) {
  Context context{std::cin, std::cout, std::cerr, core::environment_map(), real_backend()};
  const std::vector<std::string> args(argv + 1, argv + argc);
  const int status = run(args, context);
  std::cout.flush();
  return status;
}

}  // namespace millrace::cli
