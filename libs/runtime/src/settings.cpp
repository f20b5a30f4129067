#include "millrace/runtime/settings.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "millrace/core/setting.hpp"

namespace millrace::runtime {

void register_options(core::OptionSet& o, LogSettings& log) {
  core::declare(
      o, &log.level, kLevelNames,
      {.flag = "log-level",
       .env = "MILLRACE_LOG_LEVEL",
       .help = "Lowest level logged (at debug the consumer services add a line per committed "
               "batch)",
       .reload = [&log] { apply(log); }});
}

void apply(const LogSettings& log) {
  set_log_level(log.level);
}

std::string read_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw core::UsageError("--config-file / MILLRACE_CONFIG_FILE: cannot read " + path + ": " +
                           std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    throw core::UsageError("--config-file / MILLRACE_CONFIG_FILE: cannot read " + path);
  }
  return text.str();
}

void log_changes(std::string_view component, const std::string& file,
                 const std::vector<core::OptionSet::Change>& changes) {
  using Kind = core::OptionSet::Change::Kind;
  int applied = 0, restart = 0, fixed = 0;
  for (const auto& c : changes) {
    const std::string flag = "--" + c.flag;
    switch (c.kind) {
      case Kind::kReload:
        ++applied;
        log_info(component, "SIGHUP: " + flag + " " + c.before + " -> " + c.after);
        break;
      case Kind::kRestart:
        ++restart;
        log_warn(component, "SIGHUP: " + flag + " " + c.before + " -> " + c.after +
                                " needs a restart; " + c.before + " stays in force until then");
        break;
      case Kind::kFixed:
        ++fixed;
        log_warn(component, "SIGHUP: " + flag + " stays " + c.before + ", fixed by " + c.fixed_by +
                                ": a reload cannot change it to the file's " + c.after);
        break;
    }
  }
  log_info(component, "SIGHUP: re-read " + file + ": " + std::to_string(applied) + " applied, " +
                          std::to_string(restart) + " needing a restart, " + std::to_string(fixed) +
                          " fixed by the environment or a flag");
}

}  // namespace millrace::runtime
