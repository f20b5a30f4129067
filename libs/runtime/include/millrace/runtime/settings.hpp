#pragma once
// A service's settings while it runs: parsed at start from its config file,
// the environment and the flags, and parsed again on SIGHUP, when the
// options marked reloadable take their new values and the others are
// reported as needing a restart (docs/operations.md, "Reloading settings
// (SIGHUP)").

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/core/options.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/serve.hpp"

namespace millrace::runtime {

// --log-level (MILLRACE_LOG_LEVEL): every service takes it, and SIGHUP
// reloads it.
struct LogSettings {
  Level level = Level::kInfo;
};
void register_options(core::OptionSet& options, LogSettings& log);
// Makes it the process's level (set_log_level).
void apply(const LogSettings& log);

// What OptionSet::enable_config_file is given: the file's text, or a
// core::UsageError naming the path and why it cannot be read.
std::string read_config_file(const std::string& path);

// Logs, under `component`, what a SIGHUP's re-read of `file` found: one
// line per change (INFO applied, WARN needing a restart or fixed by the
// environment or a flag), then a summary line.
void log_changes(std::string_view component, const std::string& file,
                 const std::vector<core::OptionSet::Change>& changes);

// The settings of the service `component` (program and summary for
// --help): its Config's options (register_options and validate found beside
// Config, in its namespace), the log level and the config file.
//
// Caller contract: parse() once, then config() and any number of reload()
// calls from that thread; config() stays valid and unmoved for the
// object's life, and a copy of it given to the service shares its
// Reloaded settings.
template <typename Config>
class ServiceSettings {
 public:
  ServiceSettings(std::string program, std::string summary, std::string component)
      : program_(std::move(program)),
        summary_(std::move(summary)),
        component_(std::move(component)),
        current_(std::make_unique<Parsed>(program_, summary_)) {}

  // parse_command_line() over these settings, the log level set once they
  // are valid: the exit status when the process must end now (--help,
  // --check-config, a bad setting), nullopt to carry on.
  std::optional<int> parse(int argc, char** argv) {
    args_.assign(argv + 1, argv + argc);
    return parse_command_line(current_->options, argc, argv, program_, component_, [this] {
      current_->check();
      apply(current_->log);
    });
  }

  const Config& config() const { return current_->config; }

  // SIGHUP: parses the file, the environment and the flags again into a
  // fresh Config and validates it; when that fails, logs why and keeps
  // every setting as it is. Otherwise applies the reloadable changes
  // (OptionSet::adopt) and logs every change.
  void reload() {
    const std::string& file = current_->options.config_file();
    if (file.empty()) {
      log_info(component_,
               "SIGHUP: no config file to re-read (--config-file / MILLRACE_CONFIG_FILE is not "
               "set); settings unchanged");
      return;
    }
    auto next = std::make_unique<Parsed>(program_, summary_);
    try {
      next->options.parse(core::environment_map(), args_);
      next->check();
    } catch (const std::exception& e) {
      // Whatever refused it (a validate() is meant to throw UsageError, but
      // a slip must not stop a running service): nothing was applied yet.
      log_error(component_, std::string("SIGHUP: ") + e.what() +
                                "; keeping every setting as it was (fix the file and send "
                                "SIGHUP again)");
      return;
    }
    const auto changes = current_->options.changes(next->options);
    current_->options.adopt(next->options);
    // After: a line saying a value was applied is true once it is read, and
    // it is logged at the new log level.
    log_changes(component_, file, changes);
  }

 private:
  // A Config and the options bound to its members: never moved.
  struct Parsed {
    Parsed(const std::string& program, const std::string& summary) : options(program, summary) {
      register_options(options, config);
      register_options(options, log);
      options.enable_config_file(read_config_file);
    }
    Parsed(const Parsed&) = delete;
    Parsed& operator=(const Parsed&) = delete;
    // Config's validate(), found beside it (the log level's option takes
    // only levels).
    void check() { validate(config); }

    Config config;
    LogSettings log;
    core::OptionSet options;
  };

  std::string program_, summary_, component_;
  std::vector<std::string> args_;
  std::unique_ptr<Parsed> current_;
};

}  // namespace millrace::runtime
