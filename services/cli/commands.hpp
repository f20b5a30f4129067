#pragma once

// What every subcommand of `millrace` shares: the one flag parser, and the
// commands that live in their own files.

#include <cstdio>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "millrace/core/failure.hpp"
#include "millrace/core/options.hpp"

namespace millrace::cli {

inline int usage_error(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "millrace %s: %s\nTry 'millrace %s --help'.\n", command.c_str(),
               message.c_str(), command.c_str());
  return 2;
}

// Parses one subcommand's flags and validates them: the one parser every
// command goes through. Positional arguments are refused unless `positional`
// takes them (validate() may check them); `more_help` is printed after the
// flags by --help. Returns the exit status when the command must end now: 0
// after --help or a passed --check-config, 2 after a usage error; nullopt to
// carry on.
template <typename Validate>
std::optional<int> parse_flags(core::OptionSet& options, const std::vector<std::string>& args,
                               const std::string& command, Validate&& validate,
                               std::vector<std::string>* positional = nullptr,
                               const std::string& more_help = {}) {
  options.enable_check_config();
  const auto env = core::environment_map();
  try {
    auto rest = options.parse(env, args);
    if (options.help_requested()) {
      std::fputs(options.help().c_str(), stdout);
      std::fputs(more_help.c_str(), stdout);
      return 0;
    }
    if (positional != nullptr) {
      *positional = std::move(rest);
    } else if (!rest.empty()) {
      throw core::UsageError("unexpected argument \"" + rest[0] + "\"");
    }
    validate();
  } catch (const core::UsageError& e) {
    return usage_error(command, e.what());
  }
  if (options.check_config_requested()) {
    std::fputs(options.check_report("millrace " + command, env).c_str(), stdout);
    return 0;
  }
  return std::nullopt;
}

// "a,b,,c" -> {"a", "b", "c"}: a flag's comma-separated list.
inline std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  for (const char c : text + ",") {
    if (c != ',') {
      item += c;
    } else if (!item.empty()) {
      out.push_back(item);
      item.clear();
    }
  }
  return out;
}

// `millrace catalog load` (catalog.cpp).
int cmd_catalog(const std::vector<std::string>& args);
// The catalog that matches the generated events, for `millrace generate
// --catalog TABLE`: "categories" or "products", "ndjson" or "csv".
int write_catalog(const std::string& table, const std::string& format, std::ostream& out);

// `millrace changefeed publish|drop-slot` (changefeed.cpp).
int cmd_changefeed(const std::vector<std::string>& args);
// `millrace webhooks add|list|disable|enable|rotate-secret|deliveries|replay`
// (webhooks.cpp).
int cmd_webhooks(const std::vector<std::string>& args);
// `millrace archive list|verify` (archive.cpp).
int cmd_archive(const std::vector<std::string>& args);
// `millrace grant` (grant.cpp): the services' roles.
int cmd_grant(const std::vector<std::string>& args);
// `millrace api grant` (api.cpp).
int cmd_api(const std::vector<std::string>& args);
// `millrace store partitions` (store.cpp).
int cmd_store(const std::vector<std::string>& args);

}  // namespace millrace::cli
