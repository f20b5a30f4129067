// millrace grant: each service's own role gets the privileges it
// needs on the schema, and nothing more (libs/pg grants.hpp).
#include <utility>

#include "common.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/pg/grants.hpp"
#include "millrace/pg/options.hpp"

namespace millrace::cli {

int cmd_grant(const std::vector<std::string>& args, Context& ctx) {
  pg::PgOptions pg;
  // A flag per service with a role of its own (services/registry.json).
  std::vector<std::pair<std::string, std::string>> roles;
  for (auto& name : pg::granted_services()) roles.emplace_back(std::move(name), "");
  bool sql_only = false;
  core::OptionSet options(
      "millrace grant",
      "Grants each service's own role the privileges it needs on --pg-schema, and nothing more: "
      "USAGE on the schema and DML on the tables it writes, SELECT on those it reads; never "
      "CREATE, DROP or TRUNCATE. Run it as the tables' owner (MILLRACE_PG), after `millrace "
      "migrate`; the services then run with MILLRACE_MIGRATE=false. The roles must exist "
      "(CREATE ROLE ... LOGIN PASSWORD ...). The sink's and aggregator's roles also get the "
      "tables of the kinds in --kinds-dir. millrace-api's reader and admin roles: `millrace api "
      "grant`. docs/operations.md, \"Database roles\".");
  pg::register_options(options, pg);
  for (auto& [kind, role] : roles) {
    core::declare(options, &role,
                  {.flag = kind, .help = "The role millrace-" + kind + " connects as"});
  }
  std::string kinds_dir;
  kinds::register_kinds_dir(options, &kinds_dir);
  core::declare(options, &sql_only,
                {.flag = "sql",
                 .help = "Print the GRANT statements instead of running them (for a DBA to run)"});
  if (const auto exit = parse_flags(ctx, options, args, "grant", [&] {
        pg::validate(pg);
        bool any = false;
        for (const auto& [kind, role] : roles) any = any || !role.empty();
        if (!any) throw core::UsageError("give at least one of --sink, --aggregator, ... ROLE");
      })) {
    return *exit;
  }
  auto conn = pg::connect(pg.url, pg.schema, "millrace-grant", pg.connect_limits());
  for (const auto& [kind, role] : roles) {
    if (role.empty()) continue;
    if (sql_only) {
      for (const auto& s : pg::grant_statements(*conn, pg.schema, kind, role, kinds_dir)) {
        ctx.out << s << ";\n";
      }
      continue;
    }
    pg::grant_service(*conn, pg.schema, kind, role, kinds_dir);
    ctx.out << role << " (" << kind << "): granted on schema " << pg.schema << "\n";
  }
  return 0;
}

}  // namespace millrace::cli
