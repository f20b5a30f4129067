// millrace outbox install|cleanup: the outbox table (docs/outbox.md).
#include <cstdint>

#include "common.hpp"
#include "millrace/changefeed/admin.hpp"
#include "millrace/core/options.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/pg/options.hpp"

namespace millrace::cli {

namespace {

constexpr const char* kOutboxUsage =
    "usage: millrace outbox <command> [flags]\n"
    "\n"
    "commands:\n"
    "  install  create the outbox table, its index and its publication, as the schema's owner\n"
    "  cleanup  delete the outbox rows the feed of a slot has published\n";

// The outbox table's name goes into SQL, its publication and slot into
// replication commands: PostgreSQL's rule for slots keeps each safe to
// quote and the same everywhere, as the feed checks its own names.
void check_name(const std::string& flag, const std::string& value) {
  const bool ok =
      !value.empty() && value.size() <= 63 &&
      value.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
  if (!ok) {
    throw core::UsageError(flag + " must be 1 to 63 of a-z, 0-9 and _, got \"" + value + "\"");
  }
}

void declare_table(core::OptionSet& options, std::string* table) {
  core::declare(options, table,
                {.flag = "table", .help = "The outbox table, in --pg-schema (a-z, 0-9 and _)"});
}

int outbox_install(const std::vector<std::string>& args, Context& ctx) {
  pg::PgOptions pg;
  changefeed::OutboxInstall in;
  core::OptionSet options(
      "millrace outbox install",
      "Creates the outbox table of --pg-schema when missing (the columns Debezium's outbox event "
      "router reads: id uuid, aggregatetype, aggregateid, type, payload jsonb; and created_at), "
      "its index on created_at, and the publication of it that the outbox feed streams "
      "(millrace-changefeed --format outbox). Run it as the schema's owner (MILLRACE_PG).");
  pg::register_options(options, pg);
  declare_table(options, &in.table);
  core::declare(options, &in.publication,
                {.flag = "publication", .help = "The outbox feed's publication, of this table"});
  core::declare(options, &in.grant_insert_to,
                {.flag = "grant-insert",
                 .help = "Also grant this role (a service's) INSERT and DELETE on the table"});
  core::declare(options, &in.grant_select_to,
                {.flag = "grant-select",
                 .help = "Also grant this role (the feed's) SELECT on the table, which a "
                         "backfill of it needs"});
  if (const auto exit = parse_flags(ctx, options, args, "outbox install", [&] {
        pg::validate(pg);
        check_name("--table", in.table);
        check_name("--publication", in.publication);
      })) {
    return *exit;
  }
  in.schema = pg.schema;
  auto db = ctx.backend.changefeed_db(pg, "millrace-outbox-install");
  db->install_outbox(in);
  ctx.out << "outbox table " << in.schema << "." << in.table << ", publication " << in.publication
          << "\n";
  return 0;
}

int outbox_cleanup(const std::vector<std::string>& args, Context& ctx) {
  pg::PgOptions pg;
  std::string table = "outbox";
  std::string slot = "millrace_outbox";
  std::int64_t min_age_s = 0;
  core::OptionSet options(
      "millrace outbox cleanup",
      "Deletes the rows of the outbox table that the outbox feed of --slot has published (each "
      "inserted by a transaction that ended before every one the slot may still decode). Run "
      "it as often as the table should shrink; a service that deletes its rows itself needs "
      "none.");
  pg::register_options(options, pg);
  declare_table(options, &table);
  core::declare(options, &slot, {.flag = "slot", .help = "The outbox feed's replication slot"});
  core::declare(options, &min_age_s,
                {.flag = "min-age-s",
                 .help = "Delete only rows at least this old (created_at), to keep some",
                 .min = 0,
                 .max = 315'360'000});
  if (const auto exit = parse_flags(ctx, options, args, "outbox cleanup", [&] {
        pg::validate(pg);
        check_name("--table", table);
        check_name("--slot", slot);
      })) {
    return *exit;
  }
  auto db = ctx.backend.changefeed_db(pg, "millrace-outbox-cleanup");
  const auto deleted = db->cleanup_outbox(pg.schema, table, slot, min_age_s);
  ctx.out << deleted << " published row(s) deleted from " << pg.schema << "." << table << "\n";
  return 0;
}

}  // namespace

int cmd_outbox(const std::vector<std::string>& args, Context& ctx) {
  return dispatch(ctx, "outbox", kOutboxUsage,
                  {{"install", outbox_install}, {"cleanup", outbox_cleanup}}, args);
}

}  // namespace millrace::cli
