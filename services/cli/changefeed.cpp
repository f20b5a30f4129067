// millrace changefeed publish|drop-slot: the change feed's PostgreSQL side.
#include <cstdio>

#include "commands.hpp"
#include "millrace/changefeed/admin.hpp"
#include "millrace/changefeed/service.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/pg/options.hpp"

namespace millrace::cli {

namespace {

constexpr const char* kUsage =
    "usage: millrace changefeed <command> [flags]\n"
    "\n"
    "commands:\n"
    "  publish    create the publication (or set its tables), as the tables' owner\n"
    "  drop-slot  drop the replication slot and release the WAL it holds\n";

int cmd_publish(const std::vector<std::string>& args) {
  pg::PgOptions pg;
  std::string publication = "millrace_changes";
  std::string tables;
  std::string grant_select;
  core::OptionSet options(
      "millrace changefeed publish",
      "Creates the change feed's publication for the given tables of --pg-schema, or sets an "
      "existing one to exactly them. Run it as the tables' owner (MILLRACE_PG).");
  pg::register_options(options, pg);
  options.add_string("publication", "MILLRACE_CHANGEFEED_PUBLICATION", &publication,
                     "Publication name");
  options.add_string("tables", "", &tables,
                     "Comma-separated tables (default: store_events, the aggregates, and "
                     "categories and products where they exist)");
  options.add_string("grant-select", "", &grant_select,
                     "Also grant this role (the feed's) SELECT on the tables, which the initial "
                     "snapshot (--snapshot initial) needs");
  if (const auto exit = parse_flags(options, args, "changefeed publish", [&] {
        pg::validate(pg);
        changefeed::ChangefeedConfig check;
        check.publication = publication;
        changefeed::validate(check);
      })) {
    return *exit;
  }
  auto conn = pg::connect(pg.url, pg.schema, "millrace-changefeed-publish", pg.connect_limits());
  const auto list =
      tables.empty() ? changefeed::default_tables(*conn, pg.schema) : split_list(tables);
  if (list.empty()) {
    return usage_error("changefeed publish", "no tables to publish in schema " + pg.schema +
                                                 " (run `millrace migrate` first)");
  }
  changefeed::publish(*conn, publication, pg.schema, list, grant_select);
  std::string names;
  for (const auto& t : list) names += (names.empty() ? "" : ", ") + t;
  std::printf("publication %s: %s.{%s}\n", publication.c_str(), pg.schema.c_str(), names.c_str());
  if (!grant_select.empty()) std::printf("SELECT granted to %s\n", grant_select.c_str());
  return 0;
}

int cmd_drop_slot(const std::vector<std::string>& args) {
  changefeed::ChangefeedConfig config;
  core::OptionSet options("millrace changefeed drop-slot",
                          "Drops the change feed's replication slot, releasing the WAL it holds. "
                          "Refused while a feed streams from it. A feed started later with the "
                          "same checkpoint group refuses to start, since what was committed in "
                          "between is lost; start it with a new --checkpoint-group (and "
                          "--snapshot initial for the tables' full state).");
  pg::register_options(options, config.pg, "MILLRACE_CHANGEFEED_PG");
  options.add_string("slot", "MILLRACE_CHANGEFEED_SLOT", &config.slot, "Replication slot");
  if (const auto exit = parse_flags(options, args, "changefeed drop-slot", [&] {
        pg::validate(config.pg);
        changefeed::validate(config);
      })) {
    return *exit;
  }
  changefeed::drop_slot(config.pg.url, config.slot);
  std::printf("replication slot %s dropped\n", config.slot.c_str());
  return 0;
}

}  // namespace

int cmd_changefeed(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "publish") return cmd_publish(rest);
  if (args[0] == "drop-slot") return cmd_drop_slot(rest);
  return usage_error("changefeed", "unknown command \"" + args[0] + "\"");
}

}  // namespace millrace::cli
