// millrace api grant: the privileges of millrace-api's two roles.
#include "common.hpp"
#include "millrace/api/grant.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/pg/options.hpp"

namespace millrace::cli {

namespace {

constexpr const char* kApiUsage =
    "usage: millrace api <command> [flags]\n"
    "\n"
    "commands:\n"
    "  grant  grant millrace-api's reader and admin roles what they need, and nothing more\n";

int api_grant(const std::vector<std::string>& args, Context& ctx) {
  pg::PgOptions pg;
  std::string reader;
  std::string admin;
  std::string kinds_dir;
  core::OptionSet options(
      "millrace api grant",
      "Grants millrace-api's roles their privileges on --pg-schema, as the tables' owner "
      "(MILLRACE_PG). The reader (MILLRACE_API_PG's role) gets USAGE on the schema and "
      "SELECT on the public views (those of the kinds in --kinds-dir too), "
      "partition_accounting, categories and products; the admin "
      "(MILLRACE_API_ADMIN_PG's role) USAGE and SELECT, INSERT, UPDATE, DELETE on "
      "categories and products. Neither gets anything on store_events or the other tables. "
      "The roles must exist (CREATE ROLE ... LOGIN PASSWORD ...).");
  pg::register_options(options, pg);
  core::declare(options, &reader, {.flag = "reader", .help = "The role millrace-api reads with"});
  core::declare(options, &admin,
                {.flag = "admin", .help = "The role millrace-api's admin writes use"});
  kinds::register_kinds_dir(options, &kinds_dir);
  if (const auto exit = parse_flags(ctx, options, args, "api grant", [&] {
        pg::validate(pg);
        if (reader.empty() && admin.empty()) {
          throw core::UsageError("give --reader ROLE, --admin ROLE or both");
        }
        (void)kinds::all_kinds(kinds_dir);  // a declaration that does not parse: exit 2
        if (!reader.empty() && reader == admin) {
          throw core::UsageError(
              "--reader and --admin must be different roles (the reader must not write)");
        }
      })) {
    return *exit;
  }
  auto conn = pg::connect(pg.url, pg.schema, "millrace-api-grant", pg.connect_limits());
  api::grant(*conn, pg.schema, reader, admin, kinds_dir);
  ctx.out << api_grant_report(pg.schema, reader, admin, kinds_dir);
  return 0;
}

}  // namespace

std::string api_grant_report(const std::string& schema, const std::string& reader,
                             const std::string& admin, const std::string& kinds_dir) {
  std::string out;
  if (!reader.empty()) {
    out += reader + ": USAGE on schema " + schema + "; SELECT on " +
           join(api::reader_relations(kinds_dir)) + "\n";
  }
  if (!admin.empty()) {
    out += admin + ": USAGE on schema " + schema + "; SELECT, INSERT, UPDATE, DELETE on " +
           join(api::admin_relations());
    for (const auto& g : api::admin_webhook_grants()) {
      out +=
          "; " + g.privileges + " on " + g.relation + (g.sequence ? " (and its id sequence)" : "");
    }
    out += "; EXECUTE on " + std::string(api::kRotateSecretFunction) + "\n";
  }
  return out;
}

int cmd_api(const std::vector<std::string>& args, Context& ctx) {
  return dispatch(ctx, "api", kApiUsage, {{"grant", api_grant}}, args);
}

}  // namespace millrace::cli
