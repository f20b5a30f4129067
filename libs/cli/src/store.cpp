// millrace store partitions: store_events' partitions, a line each.
#include "common.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/pg/partitions.hpp"

namespace millrace::cli {

int cmd_store(const std::vector<std::string>& args, Context& ctx) {
  if (args.empty() || args[0] != "partitions") {
    return usage_error(ctx, "store", "usage: millrace store partitions [--exact] [flags]");
  }
  pg::PgOptions pg;
  bool exact = false;
  core::OptionSet options("millrace store partitions",
                          "Lists store_events' partitions, oldest first: the span of event time "
                          "each holds, its rows and its size.");
  pg::register_options(options, pg);
  core::declare(options, &exact,
                {.flag = "exact",
                 .help = "Count each partition's rows (a scan) instead of the planner's estimate"});
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (const auto exit =
          parse_flags(ctx, options, rest, "store partitions", [&] { pg::validate(pg); })) {
    return *exit;
  }
  auto conn = pg::connect(pg.url, pg.schema, "millrace-store", pg.limits);
  ctx.out << pg::render_store_partitions(pg::list_store_partitions(*conn, exact));
  return 0;
}

}  // namespace millrace::cli
