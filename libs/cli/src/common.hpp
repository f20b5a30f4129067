#pragma once

// What every subcommand of `millrace` shares: the one flag parser, the
// usage error, the dispatch of a command group, and the small helpers of
// their output.

#include <cstdarg>
#include <cstdio>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "millrace/cli/cli.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/core/options.hpp"
#include "millrace/core/values.hpp"

namespace millrace::cli {

// "millrace COMMAND: MESSAGE" and where to look, on the error stream: exit 2.
int usage_error(Context& ctx, const std::string& command, const std::string& message);

// Parses one subcommand's flags and validates them: the one parser every
// command goes through. Positional arguments are refused unless `positional`
// takes them (validate() may check them); `more_help` is printed after the
// flags by --help. Returns the exit status when the command must end now: 0
// after --help or a passed --check-config, 2 after a usage error; nullopt to
// carry on.
std::optional<int> parse_flags(Context& ctx, core::OptionSet& options,
                               const std::vector<std::string>& args, const std::string& command,
                               const std::function<void()>& validate,
                               std::vector<std::string>* positional = nullptr,
                               const std::string& more_help = {});

// A flag's comma-separated list: core::split_list.
using core::split_list;
// {"a", "b"} -> "a, b".
std::string join(const std::vector<std::string>& items);

// printf's formatting into a string, so that a table's columns stay as they were.
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// One subcommand of a group: its arguments after its name.
using Command = std::function<int(const std::vector<std::string>&, Context&)>;

// `millrace GROUP COMMAND ...`: with no COMMAND, `usage` on the error stream
// (exit 2); with --help or -h, on the output (exit 0); an unknown COMMAND is
// a usage error.
int dispatch(Context& ctx, const std::string& group, const char* usage,
             const std::vector<std::pair<std::string, Command>>& commands,
             const std::vector<std::string>& args);

// The command groups (each in its own file).
int cmd_produce(const std::vector<std::string>& args, Context& ctx);
int cmd_generate(const std::vector<std::string>& args, Context& ctx);
int cmd_migrate(const std::vector<std::string>& args, Context& ctx);
int cmd_create_topics(const std::vector<std::string>& args, Context& ctx);
int cmd_views(const std::vector<std::string>& args, Context& ctx);
// `millrace catalog load` (catalog.cpp).
int cmd_catalog(const std::vector<std::string>& args, Context& ctx);
// The catalog that matches the generated events, for `millrace generate
// --catalog TABLE`: "categories" or "products", "ndjson" or "csv".
int write_catalog(const std::string& table, const std::string& format, std::ostream& out);
// `millrace changefeed publish|backfill|backfills|drop-slot` (changefeed.cpp).
int cmd_changefeed(const std::vector<std::string>& args, Context& ctx);
// `millrace outbox install|cleanup` (outbox.cpp).
int cmd_outbox(const std::vector<std::string>& args, Context& ctx);
// `millrace webhooks add|update|list|disable|enable|rotate-secret|deliveries|replay`
// (webhooks.cpp).
int cmd_webhooks(const std::vector<std::string>& args, Context& ctx);
// `millrace archive list|verify|replay` (archive.cpp).
int cmd_archive(const std::vector<std::string>& args, Context& ctx);
// `millrace grant` (grant.cpp): the services' roles.
int cmd_grant(const std::vector<std::string>& args, Context& ctx);
// `millrace api grant` (api.cpp).
int cmd_api(const std::vector<std::string>& args, Context& ctx);
// What `api grant` prints once it granted `reader` and `admin` (either may
// be empty: not granted).
std::string api_grant_report(const std::string& schema, const std::string& reader,
                             const std::string& admin, const std::string& kinds_dir = "");
// `millrace store partitions` (store.cpp).
int cmd_store(const std::vector<std::string>& args, Context& ctx);

}  // namespace millrace::cli
