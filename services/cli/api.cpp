// millrace api grant: the privileges of millrace-api's two roles.
#include <cstdio>

#include "commands.hpp"
#include "millrace/api/grant.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/pg/options.hpp"

namespace millrace::cli {

namespace {

constexpr const char* kUsage =
    "usage: millrace api <command> [flags]\n"
    "\n"
    "commands:\n"
    "  grant  grant millrace-api's reader and admin roles what they need, and nothing more\n";

int cmd_api_grant(const std::vector<std::string>& args) {
  pg::PgOptions pg;
  std::string reader;
  std::string admin;
  core::OptionSet options(
      "millrace api grant",
      "Grants millrace-api's roles their privileges on --pg-schema, as the tables' owner "
      "(MILLRACE_PG). The reader (MILLRACE_API_PG's role) gets USAGE on the schema and "
      "SELECT on the public views, partition_accounting, categories and products; the admin "
      "(MILLRACE_API_ADMIN_PG's role) USAGE and SELECT, INSERT, UPDATE, DELETE on "
      "categories and products. Neither gets anything on store_events or the other tables. "
      "The roles must exist (CREATE ROLE ... LOGIN PASSWORD ...).");
  pg::register_options(options, pg);
  options.add_string("reader", "", &reader, "The role millrace-api reads with");
  options.add_string("admin", "", &admin, "The role millrace-api's admin writes use");
  if (const auto exit = parse_flags(options, args, "api grant", [&] {
        pg::validate(pg);
        if (reader.empty() && admin.empty()) {
          throw core::UsageError("give --reader ROLE, --admin ROLE or both");
        }
        if (!reader.empty() && reader == admin) {
          throw core::UsageError(
              "--reader and --admin must be different roles (the reader must not write)");
        }
      })) {
    return *exit;
  }
  auto conn = pg::connect(pg.url, pg.schema, "millrace-api-grant", pg.connect_limits());
  api::grant(*conn, pg.schema, reader, admin);
  const auto names = [](const std::vector<std::string>& list) {
    std::string out;
    for (const auto& t : list) out += (out.empty() ? "" : ", ") + t;
    return out;
  };
  if (!reader.empty()) {
    std::printf("%s: USAGE on schema %s; SELECT on %s\n", reader.c_str(), pg.schema.c_str(),
                names(api::reader_relations()).c_str());
  }
  if (!admin.empty()) {
    std::printf("%s: USAGE on schema %s; SELECT, INSERT, UPDATE, DELETE on %s", admin.c_str(),
                pg.schema.c_str(), names(api::admin_relations()).c_str());
    for (const auto& g : api::admin_webhook_grants()) {
      std::printf("; %s on %s%s", g.privileges.c_str(), g.relation.c_str(),
                  g.sequence ? " (and its id sequence)" : "");
    }
    std::printf("; EXECUTE on %s\n", std::string(api::kRotateSecretFunction).c_str());
  }
  return 0;
}

}  // namespace

int cmd_api(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "grant") return cmd_api_grant(rest);
  return usage_error("api", "unknown command \"" + args[0] + "\"");
}

}  // namespace millrace::cli
