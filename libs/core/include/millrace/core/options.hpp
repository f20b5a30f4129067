#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace millrace::core {

// A bad flag, value or environment variable: the caller prints what() and the
// help hint and exits with status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Binds command-line flags and MILLRACE_* environment variables to the members
// of a typed configuration struct. The struct's member initialisers are the
// defaults; the add_* calls hold the help text; so defaults and help live in
// one place per service. Precedence: default < environment < flag.
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

  void add_string(std::string flag, std::string env, std::string* target, std::string help,
                  Shown shown = Shown::kMasked);
  void add_int(std::string flag, std::string env, std::int64_t* target, std::string help,
               std::int64_t min, std::int64_t max);
  void add_double(std::string flag, std::string env, double* target, std::string help, double min,
                  double max);
  void add_bool(std::string flag, std::string env, bool* target, std::string help);

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

 private:
  struct Option;
  std::string program_;
  std::string summary_;
  std::vector<Option> options_;
  bool help_requested_ = false;
  std::vector<std::pair<std::string, std::string>> retired_;  // env, message
  std::vector<std::string> notes_;
  bool check_config_enabled_ = false;
  bool check_config_requested_ = false;

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
