// millrace changefeed publish|drop-slot: the change feed's PostgreSQL side.
#include <cstdint>
#include <cstdio>
#include <map>

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
    "  publish    create the publication (or set its tables) and the backfills' signal\n"
    "             table, as the tables' owner\n"
    "  backfill   ask the feed to publish a table's current rows again (or cancel that)\n"
    "  backfills  list the backfills asked for, with their progress\n"
    "  drop-slot  drop the replication slot and release the WAL it holds\n";

int cmd_publish(const std::vector<std::string>& args) {
  pg::PgOptions pg;
  std::string publication = "millrace_changes";
  std::string tables;
  std::string grant_select;
  std::string backfill_table = "changefeed_backfills";
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
                     "snapshot (--snapshot initial) and backfills need, and SELECT, INSERT and "
                     "UPDATE on the signal table. Without it, publish warns when a running feed's "
                     "role, or any feed's it cannot see, lacks them");
  options.add_string("backfill-table", "MILLRACE_CHANGEFEED_BACKFILL_TABLE", &backfill_table,
                     "Signal table of backfill requests, in --pg-schema (created if missing)");
  if (const auto exit = parse_flags(options, args, "changefeed publish", [&] {
        pg::validate(pg);
        changefeed::ChangefeedConfig check;
        check.publication = publication;
        check.backfill_table = backfill_table;
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
  changefeed::publish(*conn, publication, pg.schema, list, grant_select, backfill_table);
  std::string names;
  for (const auto& t : list) names += (names.empty() ? "" : ", ") + t;
  std::printf("publication %s: %s.{%s}\n", publication.c_str(), pg.schema.c_str(), names.c_str());
  if (!grant_select.empty()) {
    std::printf("SELECT granted to %s\n", grant_select.c_str());
    return 0;
  }
  // Not granted by default: the feed's role is in the feed's settings, not
  // here, and a feed not yet started cannot be seen. One that runs can.
  const auto servers = changefeed::backfill_servers(*conn, pg.schema, backfill_table, publication);
  if (servers.feeds.empty()) {
    std::fprintf(stderr,
                 "millrace changefeed publish: warning: no role was granted anything (no "
                 "--grant-select). The feed's role needs SELECT on these tables and SELECT, "
                 "INSERT and UPDATE on %s.%s, or it takes no initial snapshot and serves no "
                 "backfill: run this again with --grant-select ROLE (the user of the feed's "
                 "MILLRACE_CHANGEFEED_PG)\n",
                 pg.schema.c_str(), backfill_table.c_str());
    return 0;
  }
  for (const auto& feed : servers.feeds) {
    if (feed.signal_state == "ok" && feed.unreadable.empty()) continue;
    std::fprintf(stderr,
                 "millrace changefeed publish: warning: the running feed of %s logs in as %s, "
                 "which may not read every published table and use %s.%s: run this again "
                 "with --grant-select %s\n",
                 publication.c_str(), feed.role.c_str(), pg.schema.c_str(), backfill_table.c_str(),
                 feed.role.c_str());
  }
  return 0;
}

// The settings `backfill` and `backfills` share: where the signal table is.
struct SignalOptions {
  pg::PgOptions pg;
  std::string publication = "millrace_changes";
  std::string backfill_table = "changefeed_backfills";

  void add(core::OptionSet& options) {
    pg::register_options(options, pg);
    options.add_string("publication", "MILLRACE_CHANGEFEED_PUBLICATION", &publication,
                       "The publication whose feed runs the backfill");
    options.add_string("backfill-table", "MILLRACE_CHANGEFEED_BACKFILL_TABLE", &backfill_table,
                       "Signal table of backfill requests, in --pg-schema");
  }
  void validate() const {
    pg::validate(pg);
    changefeed::ChangefeedConfig check;
    check.publication = publication;
    check.backfill_table = backfill_table;
    changefeed::validate(check);
  }
};

int cmd_backfill(const std::vector<std::string>& args) {
  SignalOptions signal;
  std::string table;
  std::string where;
  std::int64_t chunk_size = 10000;
  std::int64_t cancel = 0;
  core::OptionSet options(
      "millrace changefeed backfill",
      "Asks the change feed of --publication to publish the current rows of a published table "
      "again, as op r records in key order, in chunks, between the changes it keeps streaming. "
      "It inserts a row into the signal table; a plain INSERT there by any client does the "
      "same. Prints the backfill's id. When no running feed can serve it (none runs, or its role "
      "may not use the signal table or read the table), it still asks, and says why and the fix "
      "on stderr. With --cancel ID, stops one instead.");
  signal.add(options);
  options.add_string("table", "", &table,
                     "The table: schema.table, or its name when the publication holds one table "
                     "of that name");
  options.add_string("where", "", &where,
                     "Only the rows that match this SQL condition (e.g. \"region = 'north'\")");
  options.add_int("chunk-size", "", &chunk_size,
                  "Rows per chunk: each is one snapshot read and one Kafka transaction", 1,
                  1'000'000);
  options.add_int("cancel", "", &cancel,
                  "Cancel the backfill with this id: a pending one at once, a running one at "
                  "its next chunk",
                  0, INT64_MAX);
  if (const auto exit = parse_flags(options, args, "changefeed backfill", [&] {
        signal.validate();
        if ((cancel == 0) == table.empty()) {
          throw core::UsageError("give --table to ask for a backfill, or --cancel ID to stop one");
        }
      })) {
    return *exit;
  }
  auto conn = pg::connect(signal.pg.url, signal.pg.schema, "millrace-changefeed-backfill",
                          signal.pg.connect_limits());
  if (cancel != 0) {
    if (!changefeed::cancel_backfill(*conn, signal.pg.schema, signal.backfill_table, cancel)) {
      std::fprintf(stderr, "millrace changefeed backfill: no backfill %lld is pending or running\n",
                   static_cast<long long>(cancel));
      return 1;
    }
    std::printf("backfill %lld: cancel asked\n", static_cast<long long>(cancel));
    return 0;
  }
  // Asked before the insert, so a failure here records nothing. The request
  // is recorded even when nothing serves it now: it runs once a feed can
  // (a GRANT takes effect at the feed's next poll), and a script asking
  // before it starts the feed is not refused.
  const auto servers = changefeed::backfill_servers(*conn, signal.pg.schema, signal.backfill_table,
                                                    signal.publication);
  const auto id = changefeed::request_backfill(*conn, signal.pg.schema, signal.backfill_table,
                                               signal.publication, table, where, chunk_size);
  std::printf("%lld\n", static_cast<long long>(id));
  if (const auto warning = changefeed::backfill_warning(servers, table); !warning.empty()) {
    std::fflush(stdout);
    std::fprintf(stderr, "millrace changefeed backfill: warning: backfill %lld waits: %s\n",
                 static_cast<long long>(id), warning.c_str());
  }
  return 0;
}

int cmd_backfills(const std::vector<std::string>& args) {
  SignalOptions signal;
  core::OptionSet options("millrace changefeed backfills",
                          "Lists the backfills asked for, newest first, with their state and "
                          "progress (rows published as of the feed's last checkpoint). A pending "
                          "or running one that no running feed can serve says why: \"waiting: "
                          "...\", with the fix.");
  signal.add(options);
  if (const auto exit =
          parse_flags(options, args, "changefeed backfills", [&] { signal.validate(); })) {
    return *exit;
  }
  auto conn = pg::connect(signal.pg.url, signal.pg.schema, "millrace-changefeed-backfills",
                          signal.pg.connect_limits());
  const auto rows = changefeed::list_backfills(*conn, signal.pg.schema, signal.backfill_table);
  // Asked once per publication that has a request still to serve.
  std::map<std::string, std::string> unserved;
  for (const auto& b : rows) {
    if ((b.state == "pending" || b.state == "running") && unserved.count(b.publication) == 0) {
      unserved[b.publication] = changefeed::unserved_reason(changefeed::backfill_servers(
          *conn, signal.pg.schema, signal.backfill_table, b.publication));
    }
  }
  std::printf("%-6s %-10s %-28s %8s %10s  %-20s %s\n", "id", "state", "table", "chunks", "rows",
              "requested", "where / error");
  for (const auto& b : rows) {
    std::string note = b.where;
    if (!b.error.empty()) note += (note.empty() ? "" : "; ") + b.error;
    if (b.cancel && b.state == "running")
      note += (note.empty() ? "" : "; ") + std::string("cancel asked");
    if (const auto it = unserved.find(b.publication);
        (b.state == "pending" || b.state == "running") && it != unserved.end() &&
        !it->second.empty()) {
      note += (note.empty() ? "" : "; ") + std::string("waiting: ") + it->second;
    }
    std::printf("%-6lld %-10s %-28s %8lld %10lld  %-20s %s\n", static_cast<long long>(b.id),
                b.state.c_str(), b.table.c_str(), static_cast<long long>(b.chunks),
                static_cast<long long>(b.rows), b.requested_at.c_str(), note.c_str());
  }
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
  if (args[0] == "backfill") return cmd_backfill(rest);
  if (args[0] == "backfills") return cmd_backfills(rest);
  return usage_error("changefeed", "unknown command \"" + args[0] + "\"");
}

}  // namespace millrace::cli
