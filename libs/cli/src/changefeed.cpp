// millrace changefeed publish|backfill|backfills|drop-slot: the change
// feed's PostgreSQL side.
#include <cstdint>
#include <map>

#include "common.hpp"
#include "millrace/changefeed/admin.hpp"
#include "millrace/changefeed/service.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/pg/options.hpp"

namespace millrace::cli {

namespace {

constexpr const char* kChangefeedUsage =
    "usage: millrace changefeed <command> [flags]\n"
    "\n"
    "commands:\n"
    "  publish    create the publication (or set its tables) and the backfills' signal\n"
    "             table, as the tables' owner\n"
    "  backfill   ask the feed to publish a table's current rows again (or cancel that)\n"
    "  backfills  list the backfills asked for, with their progress\n"
    "  drop-slot  drop the replication slot and release the WAL it holds\n";

// The publication and signal table, as changefeed::validate checks them.
void validate_signal(const std::string& publication, const std::string& backfill_table) {
  changefeed::ChangefeedConfig check;
  check.publication = publication;
  check.backfill_table = backfill_table;
  changefeed::validate(check);
}

int changefeed_publish(const std::vector<std::string>& args, Context& ctx) {
  pg::PgOptions pg;
  std::string publication = "millrace_changes";
  std::string tables;
  std::string grant_select;
  std::string backfill_table = "changefeed_backfills";
  std::string kinds_dir;
  core::OptionSet options(
      "millrace changefeed publish",
      "Creates the change feed's publication for the given tables of --pg-schema, or sets an "
      "existing one to exactly them. Run it as the tables' owner (MILLRACE_PG).");
  pg::register_options(options, pg);
  changefeed::add_feed_names(options, nullptr, &publication, &backfill_table);
  core::declare(
      options, &tables,
      {.flag = "tables",
       .help = "Comma-separated tables (default: those that exist of store_events and its "
               "sums, every declared kind's records, lines and sums, categories, "
               "products and assets)"});
  kinds::register_kinds_dir(options, &kinds_dir);
  core::declare(
      options, &grant_select,
      {.flag = "grant-select",
       .help = "Also grant this role (the feed's) SELECT on the tables, which the initial "
               "snapshot (--snapshot initial) and backfills need, and SELECT, INSERT and "
               "UPDATE on the signal table. Without it, publish warns when a running feed's "
               "role, or any feed's it cannot see, lacks them"});
  if (const auto exit = parse_flags(ctx, options, args, "changefeed publish", [&] {
        pg::validate(pg);
        validate_signal(publication, backfill_table);
      })) {
    return *exit;
  }
  auto db = ctx.backend.changefeed_db(pg, "millrace-changefeed-publish");
  const auto list = tables.empty() ? db->default_tables(pg.schema, kinds_dir) : split_list(tables);
  if (list.empty()) {
    return usage_error(
        ctx, "changefeed publish",
        "no tables to publish in schema " + pg.schema + " (run `millrace migrate` first)");
  }
  db->publish(publication, pg.schema, list, grant_select, backfill_table);
  ctx.out << "publication " << publication << ": " << pg.schema << ".{" << join(list) << "}\n";
  if (!grant_select.empty()) {
    ctx.out << "SELECT granted to " << grant_select << "\n";
    return 0;
  }
  // Not granted by default: the feed's role is in the feed's settings, not
  // here, and a feed not yet started cannot be seen. One that runs can.
  const auto servers = db->backfill_servers(pg.schema, backfill_table, publication);
  ctx.out.flush();
  if (servers.feeds.empty()) {
    ctx.err << "millrace changefeed publish: warning: no role was granted anything (no "
               "--grant-select). The feed's role needs SELECT on these tables and SELECT, "
               "INSERT and UPDATE on "
            << pg.schema << "." << backfill_table
            << ", or it takes no initial snapshot and serves no "
               "backfill: run this again with --grant-select ROLE (the user of the feed's "
               "MILLRACE_CHANGEFEED_PG)\n";
    return 0;
  }
  for (const auto& feed : servers.feeds) {
    if (feed.signal_state == "ok" && feed.unreadable.empty()) continue;
    ctx.err << "millrace changefeed publish: warning: the running feed of " << publication
            << " logs in as " << feed.role << ", which may not read every published table and use "
            << pg.schema << "." << backfill_table << ": run this again with --grant-select "
            << feed.role << "\n";
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
    changefeed::add_feed_names(options, nullptr, &publication, &backfill_table);
  }
  void validate() const {
    pg::validate(pg);
    validate_signal(publication, backfill_table);
  }
};

int changefeed_backfill(const std::vector<std::string>& args, Context& ctx) {
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
  core::declare(
      options, &table,
      {.flag = "table",
       .help = "The table: schema.table, or its name when the publication holds one table "
               "of that name"});
  core::declare(
      options, &where,
      {.flag = "where",
       .help = "Only the rows that match this SQL condition (e.g. \"region = 'north'\")"});
  core::declare(options, &chunk_size,
                {.flag = "chunk-size",
                 .help = "Rows per chunk: each is one snapshot read and one Kafka transaction",
                 .min = 1,
                 .max = 1'000'000});
  core::declare(
      options, &cancel,
      {.flag = "cancel",
       .help = "Cancel the backfill with this id: a pending one at once, a running one at "
               "its next chunk",
       .min = 0,
       .max = INT64_MAX});
  if (const auto exit = parse_flags(ctx, options, args, "changefeed backfill", [&] {
        signal.validate();
        if ((cancel == 0) == table.empty()) {
          throw core::UsageError("give --table to ask for a backfill, or --cancel ID to stop one");
        }
      })) {
    return *exit;
  }
  auto db = ctx.backend.changefeed_db(signal.pg, "millrace-changefeed-backfill");
  if (cancel != 0) {
    if (!db->cancel_backfill(signal.pg.schema, signal.backfill_table, cancel)) {
      ctx.err << "millrace changefeed backfill: no backfill " << cancel
              << " is pending or running\n";
      return 1;
    }
    ctx.out << "backfill " << cancel << ": cancel asked\n";
    return 0;
  }
  // Asked before the insert, so a failure here records nothing. The request
  // is recorded even when nothing serves it now: it runs once a feed can
  // (a GRANT takes effect at the feed's next poll), and a script asking
  // before it starts the feed is not refused.
  const auto servers =
      db->backfill_servers(signal.pg.schema, signal.backfill_table, signal.publication);
  const auto id = db->request_backfill(signal.pg.schema, signal.backfill_table, signal.publication,
                                       table, where, chunk_size, "");
  ctx.out << id << "\n";
  if (const auto warning = changefeed::backfill_warning(servers, table); !warning.empty()) {
    ctx.out.flush();
    ctx.err << "millrace changefeed backfill: warning: backfill " << id << " waits: " << warning
            << "\n";
  }
  return 0;
}

int changefeed_backfills(const std::vector<std::string>& args, Context& ctx) {
  SignalOptions signal;
  core::OptionSet options("millrace changefeed backfills",
                          "Lists the backfills asked for, newest first, with their state and "
                          "progress (rows published as of the feed's last checkpoint). A pending "
                          "or running one that no running feed can serve says why: \"waiting: "
                          "...\", with the fix.");
  signal.add(options);
  if (const auto exit =
          parse_flags(ctx, options, args, "changefeed backfills", [&] { signal.validate(); })) {
    return *exit;
  }
  auto db = ctx.backend.changefeed_db(signal.pg, "millrace-changefeed-backfills");
  const auto rows = db->list_backfills(signal.pg.schema, signal.backfill_table);
  const auto waits = [](const changefeed::BackfillRow& b) {
    return b.state == "pending" || b.state == "running";
  };
  // Asked once per publication that has a request still to serve.
  std::map<std::string, std::string> unserved;
  for (const auto& b : rows) {
    if (waits(b) && unserved.count(b.publication) == 0) {
      unserved[b.publication] = changefeed::unserved_reason(
          db->backfill_servers(signal.pg.schema, signal.backfill_table, b.publication));
    }
  }
  ctx.out << format("%-6s %-10s %-28s %8s %10s  %-20s %s\n", "id", "state", "table", "chunks",
                    "rows", "requested", "where / error");
  for (const auto& b : rows) {
    std::vector<std::string> notes;
    if (!b.where.empty()) notes.push_back(b.where);
    if (!b.error.empty()) notes.push_back(b.error);
    if (b.cancel && b.state == "running") notes.push_back("cancel asked");
    if (const auto it = unserved.find(b.publication);
        waits(b) && it != unserved.end() && !it->second.empty()) {
      notes.push_back("waiting: " + it->second);
    }
    std::string note;
    for (const auto& n : notes) note += (note.empty() ? "" : "; ") + n;
    ctx.out << format("%-6lld %-10s %-28s %8lld %10lld  %-20s %s\n", static_cast<long long>(b.id),
                      b.state.c_str(), b.table.c_str(), static_cast<long long>(b.chunks),
                      static_cast<long long>(b.rows), b.requested_at.c_str(), note.c_str());
  }
  return 0;
}

int changefeed_drop_slot(const std::vector<std::string>& args, Context& ctx) {
  changefeed::ChangefeedConfig config;
  core::OptionSet options(
      "millrace changefeed drop-slot",
      "Drops the change feed's replication slot, releasing the WAL it holds. "
      "Refused while a feed streams from it (a feed's session that is ending is "
      "waited for, up to 10 s). A feed started later with the "
      "same checkpoint group refuses to start, since what was committed in "
      "between is lost; start it with a new --checkpoint-group (and "
      "--snapshot initial for the tables' full state).");
  pg::register_options(options, config.pg, "MILLRACE_CHANGEFEED_PG");
  changefeed::add_feed_names(options, &config.slot, nullptr, nullptr);
  if (const auto exit = parse_flags(ctx, options, args, "changefeed drop-slot", [&] {
        pg::validate(config.pg);
        changefeed::validate(config);
      })) {
    return *exit;
  }
  changefeed::drop_slot(config.pg.url, config.slot);
  ctx.out << "replication slot " << config.slot << " dropped\n";
  return 0;
}

}  // namespace

int cmd_changefeed(const std::vector<std::string>& args, Context& ctx) {
  return dispatch(ctx, "changefeed", kChangefeedUsage,
                  {{"publish", changefeed_publish},
                   {"drop-slot", changefeed_drop_slot},
                   {"backfill", changefeed_backfill},
                   {"backfills", changefeed_backfills}},
                  args);
}

}  // namespace millrace::cli
