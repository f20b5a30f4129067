#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/core/enum_names.hpp"

namespace millrace::core {

// A bad flag, value or environment variable: the caller prints what() and the
// help hint and exits with status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Setting;  // setting.hpp

// Binds command-line flags and MILLRACE_* environment variables to the members
// of a typed configuration struct. The struct's member initialisers are the
// defaults; each setting is declared with core::declare (setting.hpp), the
// one way to add an option. Precedence: default < environment < flag, or
// default < file < environment < flag after enable_config_file().
//
// Flags take "--name value" or "--name=value"; bool flags also take bare
// "--name" (true). "--help"/"-h" sets help_requested(). After
// enable_check_config(), "--check-config" sets check_config_requested().
class OptionSet {
 public:
  explicit OptionSet(std::string program, std::string summary);

  // How describe(), help() and --check-config show a string option's value.
  enum class Shown : std::uint8_t {
    // "***" when the flag names a secret (core::names_secret: --admin-token,
    // --secret); otherwise the text with core::mask_secrets applied, so a
    // conninfo's or URI's password is masked.
    kMasked,
    // Always "***".
    kSecret,
    // A comma-separated key=value list (librdkafka properties): every value
    // whose key names a secret is "***" (core::mask_property_list).
    kPropertyList,
  };

  // The unit a duration setting counts (core::Setting::unit), the unit its
  // name carries (--batch-ms, --window-s).
  enum class DurationUnit : std::int64_t {
    kMilliseconds = 1,
    kSeconds = 1000,
    kMinutes = 60'000,
    kHours = 3'600'000,
    kDays = 86'400'000,
  };

  // Also reads the option `flag`'s value from `env` when none of its
  // variables before it is set. A fallback shared by several programs
  // (MILLRACE_PG behind each service's MILLRACE_<SERVICE>_PG) has an empty
  // `deprecation`; an old name still read has one, saying what to set
  // instead, and its use is one of notes().
  void add_env_fallback(const std::string& flag, std::string env, std::string deprecation = "");
  // What parse() saw that deserves a warning: an old variable still read.
  const std::vector<std::string>& notes() const { return notes_; }

  // A variable no option reads any more but an old deployment may still
  // set, with a meaning that would now be lost in silence: parse() refuses
  // it, naming it, with `message` saying what to set instead.
  void retire_env(std::string env, std::string message);

  // Applies env then args. Positional arguments (not starting with "--") are
  // returned in order; "--" ends flag parsing. Throws UsageError on an unknown
  // flag, a missing value, or a value that does not parse or is out of range;
  // the message names the flag or variable and the accepted form.
  std::vector<std::string> parse(const std::map<std::string, std::string>& env,
                                 const std::vector<std::string>& args);

  bool help_requested() const { return help_requested_; }

  // Reads settings from a file too: adds the option --config-file
  // (MILLRACE_CONFIG_FILE), and parse() then calls `read` with the path it
  // names, when it names one, and applies the file's MILLRACE_NAME=value
  // lines (core::parse_settings_file) under the environment and the flags.
  // `read` returns the file's text or throws UsageError naming the path.
  // parse() refuses, naming path:line, a name no option reads, a retired
  // one, MILLRACE_CONFIG_FILE itself and a value that does not parse, even
  // one the environment or a flag overrides: a file is written for this
  // program, unlike an environment several programs share.
  using FileReader = std::function<std::string(const std::string& path)>;
  void enable_config_file(FileReader read);
  // The file parse() read; empty when none.
  const std::string& config_file() const;

  // Marks the option `flag` as one a running service takes on SIGHUP:
  // adopt() copies a new value into its target and then calls `apply`, which
  // hands the value to whatever reads it (a batch size the consuming thread
  // reads at its next batch). help() says so. Throws std::logic_error when
  // no option `flag` was added.
  void reloadable(const std::string& flag, std::function<void()> apply);

  // One difference between the settings in force and a re-read of them.
  struct Change {
    enum class Kind : std::uint8_t {
      kReload,   // a reloadable option's value changed: adopt() applies it
      kRestart,  // another option's value changed: it takes a restart
      kFixed,    // the file sets another value, but the environment or a flag wins
    };
    Kind kind = Kind::kReload;
    std::string flag;      // without "--"
    std::string before;    // the value in force, shown as describe() shows it
    std::string after;     // the new value (kFixed: the file's), shown the same way
    std::string fixed_by;  // kFixed: "env MILLRACE_BATCH_MS" or "flag"
  };
  // What differs between these settings (those in force) and `next`: the
  // same options registered anew, on a fresh config, and parsed again. In
  // registration order. Values are compared unmasked and shown masked.
  // Throws std::logic_error when `next` holds other options.
  std::vector<Change> changes(const OptionSet& next) const;
  // Takes `next`'s value of each reloadable option whose value differs
  // (where it came from, too), then calls the apply of each one taken.
  // The caller validated `next` first.
  void adopt(const OptionSet& next);

  // Accepts the built-in "--check-config": the caller parses and validates as
  // usual, prints describe() and exits instead of starting. Services offer it
  // so a deployment (compose file, unit file) can be checked before rollout,
  // where starting would connect to Kafka and PostgreSQL.
  void enable_check_config() { check_config_enabled_ = true; }
  bool check_config_requested() const { return check_config_requested_; }

  // Variables in `env` that start with `prefix` but no option reads: a
  // misspelt MILLRACE_BATCH_SZIE would otherwise be ignored in silence.
  std::vector<std::string> unread_env(const std::map<std::string, std::string>& env,
                                      std::string_view prefix = "MILLRACE_") const;

  // What --check-config prints for a valid configuration: "<program>:
  // configuration is valid", describe(), then one note per unread_env(env).
  // Unread variables are noted, not refused: one environment is often shared
  // by several programs, each reading its part.
  std::string check_report(const std::string& program,
                           const std::map<std::string, std::string>& env) const;
  // Usage text: every flag with its env var, default and help.
  std::string help() const;
  // One line per option with its effective value and where it came from
  // (default/env/flag); secrets are masked as each option's Shown says.
  std::string describe() const;
  // Every option as one tab-separated line: flag (without "--"), its
  // variables in the order they are read (comma-separated; deprecated names
  // left out), its default as help() shows it, "reload" or "restart", and its
  // help text. Read by scripts/docs-tables, which writes the settings tables
  // of docs/configuration.md from it, so what the docs list is what the
  // program registers.
  std::string reference() const;

 private:
  struct Option;
  // The primitives core::declare registers a setting with.
  friend void declare(OptionSet& o, std::string* target, Setting s);
  friend void declare(OptionSet& o, std::int64_t* target, Setting s);
  friend void declare(OptionSet& o, double* target, Setting s);
  friend void declare(OptionSet& o, bool* target, Setting s);
  friend void declare(OptionSet& o, std::vector<std::string>* target, Setting s);
  template <typename E, std::size_t N>
  friend void declare(OptionSet& o, E* target, const EnumNames<E, N>& names, Setting s);
  void add_string(std::string flag, std::string env, std::string* target, std::string help,
                  Shown shown = Shown::kMasked);
  void add_int(std::string flag, std::string env, std::int64_t* target, std::string help,
               std::int64_t min, std::int64_t max);
  void add_double(std::string flag, std::string env, double* target, std::string help, double min,
                  double max);
  void add_bool(std::string flag, std::string env, bool* target, std::string help);
  // A duration in core::parse_duration's grammar ("250ms", "5s", "1h"),
  // stored in `target` as a count of `unit`, the unit the setting's name
  // carries (--batch-ms, --window-s), in which a bare number is read too.
  // `min` and `max` count `unit` as well; a value that is not a whole
  // number of it is refused.
  void add_duration(std::string flag, std::string env, std::int64_t* target, DurationUnit unit,
                    std::string help, std::int64_t min, std::int64_t max);
  // One of `choices`, listed in help() and checked by parse(); `target`'s
  // default must be one.
  void add_choice(std::string flag, std::string env, std::string* target, std::string help,
                  std::vector<std::string> choices);
  // One of an enum's values, by their names in `names` (a table of static
  // storage), listed in help() and checked by parse().
  template <typename E, std::size_t N>
  void add_enum(std::string flag, std::string env, E* target, const EnumNames<E, N>& names,
                std::string help) {
    add_choice_of(
        std::move(flag), std::move(env), std::move(help), names.names(),
        [target] { return static_cast<std::size_t>(*target); },
        [target](std::size_t i) { *target = static_cast<E>(i); });
  }
  // A comma-separated list (core::split_list: items trimmed, empty ones
  // left out).
  void add_list(std::string flag, std::string env, std::vector<std::string>* target,
                std::string help);

  Option* find_env(const std::string& name);
  // A choice among `choices`, the target's read and written by index.
  void add_choice_of(std::string flag, std::string env, std::string help,
                     std::vector<std::string> choices, std::function<std::size_t()> get,
                     std::function<void(std::size_t)> set);
  void apply_config_file(const std::string& path);

  std::string program_;
  std::string summary_;
  std::vector<Option> options_;
  bool help_requested_ = false;
  std::vector<std::pair<std::string, std::string>> retired_;  // env, message
  std::vector<std::string> notes_;
  bool check_config_enabled_ = false;
  bool check_config_requested_ = false;
  FileReader read_file_;
  // --config-file's target: on the heap, so that moving the set keeps it.
  std::unique_ptr<std::string> config_file_ = std::make_unique<std::string>();
  std::string file_read_;  // the path parse() read

 public:
  ~OptionSet();
  OptionSet(OptionSet&&) noexcept;
  OptionSet& operator=(OptionSet&&) noexcept;
};

// Settings every long-running service takes, registered once.
// --retry-backoff-ms / --retry-backoff-max-ms: the first wait after a
// retryable failure, doubling up to the maximum.
struct RetryBackoff {
  std::int64_t first_ms = 200;
  std::int64_t max_ms = 10000;
};
void register_options(OptionSet& options, RetryBackoff& backoff);
// Throws UsageError when the maximum is below the first wait.
void validate(const RetryBackoff& backoff);
// --metrics-addr (MILLRACE_METRICS_ADDR): host:port serving /metrics, empty for
// none.
void add_metrics_addr(OptionSet& options, std::string* addr);

// The process environment as a map, for OptionSet::parse. Lives here because
// it is the single place we read environ.
std::map<std::string, std::string> environment_map();

}  // namespace millrace::core
