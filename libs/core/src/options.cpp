#include "millrace/core/options.hpp"

#include <charconv>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <utility>

#include "millrace/core/secrets.hpp"

// POSIX declares it in <unistd.h> only under feature macros; say it here.
extern "C" char** environ;

namespace millrace::core {

namespace detail {

// The data of one option. OptionSet::Option is private, so the free helpers
// below work on this base instead.
struct OptionSpec {
  enum class Kind : std::uint8_t { kString, kInt, kDouble, kBool };
  enum class Source : std::uint8_t { kDefault, kEnv, kFlag };

  Kind kind = Kind::kString;
  std::string flag;  // without the leading "--"
  std::string env;   // empty: no environment variable
  // Read in order when `env` is unset: (variable, deprecation note or "").
  std::vector<std::pair<std::string, std::string>> fallbacks;
  std::string env_used;  // the variable the value came from (source kEnv)
  std::string help;
  OptionSet::Shown shown = OptionSet::Shown::kMasked;
  std::string* string_target = nullptr;
  std::int64_t* int_target = nullptr;
  double* double_target = nullptr;
  bool* bool_target = nullptr;
  std::int64_t int_min = 0;
  std::int64_t int_max = 0;
  double double_min = 0;
  double double_max = 0;
  std::string default_text;
  Source source = Source::kDefault;
};

}  // namespace detail

struct OptionSet::Option : detail::OptionSpec {};

namespace {

using Option = detail::OptionSpec;

std::string format_double(double value) {
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, result.ptr);
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  out += text;
  out += '"';
  return out;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<bool> parse_bool(std::string_view text) {
  const std::string v = lowercase(text);
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return std::nullopt;
}

// Services may register "count" or "--count"; both mean the same flag.
void strip_dashes(std::string& flag) {
  if (flag.starts_with("--")) flag.erase(0, 2);
}

// The text shown for a value in help() and describe().
std::string display(const Option& opt) {
  switch (opt.kind) {
    case Option::Kind::kString:
      if (opt.string_target->empty()) return "\"\"";
      switch (opt.shown) {
        case OptionSet::Shown::kSecret:
          return "***";
        case OptionSet::Shown::kPropertyList:
          return mask_property_list(*opt.string_target);
        case OptionSet::Shown::kMasked:
          return names_secret(opt.flag) ? "***" : mask_secrets(*opt.string_target);
      }
      return "***";
    case Option::Kind::kInt:
      return std::to_string(*opt.int_target);
    case Option::Kind::kDouble:
      return format_double(*opt.double_target);
    case Option::Kind::kBool:
      return *opt.bool_target ? "true" : "false";
  }
  return "";
}

// Parses and stores one value; `origin` ("--count" or "MILLRACE_COUNT")
// prefixes any error so the user knows which input to fix.
void apply(Option& opt, std::string_view value, const std::string& origin) {
  switch (opt.kind) {
    case Option::Kind::kString:
      *opt.string_target = std::string(value);
      return;
    case Option::Kind::kInt: {
      std::int64_t v = 0;
      const auto* end = value.data() + value.size();
      const auto result = std::from_chars(value.data(), end, v);
      if (value.empty() || result.ec != std::errc() || result.ptr != end || v < opt.int_min ||
          v > opt.int_max) {
        throw UsageError(origin + ": expected an integer between " + std::to_string(opt.int_min) +
                         " and " + std::to_string(opt.int_max) + ", got " + quote(value));
      }
      *opt.int_target = v;
      return;
    }
    case Option::Kind::kDouble: {
      double v = 0;
      const auto* end = value.data() + value.size();
      const auto result = std::from_chars(value.data(), end, v);
      if (value.empty() || result.ec != std::errc() || result.ptr != end || !std::isfinite(v) ||
          v < opt.double_min || v > opt.double_max) {
        throw UsageError(origin + ": expected a number between " + format_double(opt.double_min) +
                         " and " + format_double(opt.double_max) + ", got " + quote(value));
      }
      *opt.double_target = v;
      return;
    }
    case Option::Kind::kBool: {
      const auto v = parse_bool(value);
      if (!v) throw UsageError(origin + ": expected true or false, got " + quote(value));
      *opt.bool_target = *v;
      return;
    }
  }
}

}  // namespace

OptionSet::OptionSet(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {}
OptionSet::~OptionSet() = default;
OptionSet::OptionSet(OptionSet&&) noexcept = default;
OptionSet& OptionSet::operator=(OptionSet&&) noexcept = default;

namespace {

// Templated on the container so that the private OptionSet::Option type need
// not be named here.
template <class Options>
void init_option(Option& opt, const Options& existing, std::string flag, std::string env,
                 std::string help) {
  opt.flag = std::move(flag);
  strip_dashes(opt.flag);
  opt.env = std::move(env);
  opt.help = std::move(help);
  if (opt.flag.empty() || opt.flag == "help" || opt.flag == "check-config") {
    throw std::invalid_argument("option flag name \"" + opt.flag + "\" is not allowed");
  }
  for (const Option& other : existing) {
    if (other.flag == opt.flag || (!opt.env.empty() && other.env == opt.env)) {
      throw std::invalid_argument("option --" + opt.flag + " registered twice");
    }
  }
}

}  // namespace

void OptionSet::add_string(std::string flag, std::string env, std::string* target, std::string help,
                           Shown shown) {
  OptionSet::Option opt;
  init_option(opt, options_, std::move(flag), std::move(env), std::move(help));
  opt.kind = Option::Kind::kString;
  opt.string_target = target;
  opt.shown = shown;
  opt.default_text = display(opt);
  options_.push_back(std::move(opt));
}

void OptionSet::add_int(std::string flag, std::string env, std::int64_t* target, std::string help,
                        std::int64_t min, std::int64_t max) {
  if (min > max) throw std::invalid_argument("option --" + flag + ": min > max");
  OptionSet::Option opt;
  init_option(opt, options_, std::move(flag), std::move(env), std::move(help));
  opt.kind = Option::Kind::kInt;
  opt.int_target = target;
  opt.int_min = min;
  opt.int_max = max;
  opt.default_text = display(opt);
  options_.push_back(std::move(opt));
}

void OptionSet::add_double(std::string flag, std::string env, double* target, std::string help,
                           double min, double max) {
  if (!(min <= max)) throw std::invalid_argument("option --" + flag + ": min > max");
  OptionSet::Option opt;
  init_option(opt, options_, std::move(flag), std::move(env), std::move(help));
  opt.kind = Option::Kind::kDouble;
  opt.double_target = target;
  opt.double_min = min;
  opt.double_max = max;
  opt.default_text = display(opt);
  options_.push_back(std::move(opt));
}

void OptionSet::add_bool(std::string flag, std::string env, bool* target, std::string help) {
  OptionSet::Option opt;
  init_option(opt, options_, std::move(flag), std::move(env), std::move(help));
  opt.kind = Option::Kind::kBool;
  opt.bool_target = target;
  opt.default_text = display(opt);
  options_.push_back(std::move(opt));
}

void OptionSet::add_env_fallback(const std::string& flag, std::string env,
                                 std::string deprecation) {
  for (Option& opt : options_) {
    if (opt.flag != flag) continue;
    opt.fallbacks.emplace_back(std::move(env), std::move(deprecation));
    return;
  }
  throw std::logic_error("add_env_fallback: no option --" + flag);
}

void OptionSet::retire_env(std::string env, std::string message) {
  retired_.emplace_back(std::move(env), std::move(message));
}

std::vector<std::string> OptionSet::parse(const std::map<std::string, std::string>& env,
                                          const std::vector<std::string>& args) {
  // Help wins over everything else, including bad values elsewhere: a user
  // who asks for help should get it, not an error about another flag.
  for (const std::string& arg : args) {
    if (arg == "--") break;
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      return {};
    }
  }

  for (const auto& [name, message] : retired_) {
    if (env.contains(name)) throw UsageError(name + " is no longer read: " + message);
  }
  notes_.clear();
  for (Option& opt : options_) {
    if (opt.env.empty()) continue;
    auto it = env.find(opt.env);
    opt.env_used = opt.env;
    for (const auto& [name, deprecation] : opt.fallbacks) {
      if (it != env.end()) break;
      it = env.find(name);
      opt.env_used = name;
      if (it != env.end() && !deprecation.empty()) {
        notes_.push_back(name + " is deprecated: " + deprecation);
      }
    }
    if (it == env.end()) continue;
    apply(opt, it->second, opt.env_used);
    opt.source = Option::Source::kEnv;
  }

  std::vector<std::string> positional;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional.insert(positional.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                        args.end());
      break;
    }
    if (arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
      positional.push_back(arg);
      continue;
    }
    if (check_config_enabled_ && arg == "--check-config") {
      check_config_requested_ = true;
      continue;
    }
    const std::size_t eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    Option* opt = nullptr;
    for (Option& candidate : options_) {
      if (candidate.flag == name) opt = &candidate;
    }
    const std::string origin = "--" + name;
    if (opt == nullptr) throw UsageError("unknown flag " + origin + " (see --help)");

    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else if (opt->kind == Option::Kind::kBool) {
      // A bare bool flag never takes the next argument: "--embed file.ndjson"
      // must leave the file positional.
      value = "true";
    } else if (i + 1 < args.size() && args[i + 1].compare(0, 2, "--") != 0) {
      value = args[++i];
    } else {
      throw UsageError(origin + ": missing value");
    }
    apply(*opt, value, origin);
    opt->source = Option::Source::kFlag;
  }
  return positional;
}

std::string OptionSet::help() const {
  std::string out = "Usage: " + program_ + " [OPTIONS]\n";
  if (!summary_.empty()) out += summary_ + "\n";
  out += "\nOptions:\n";
  for (const Option& opt : options_) {
    out += "  --" + opt.flag;
    if (opt.kind != Option::Kind::kBool) out += " VALUE";
    out += "  (";
    if (!opt.env.empty()) {
      out += "env " + opt.env;
      for (const auto& [name, deprecation] : opt.fallbacks) {
        if (deprecation.empty()) out += ", or " + name;
      }
      out += ", ";
    }
    out += "default " + opt.default_text + ")";
    if (!opt.help.empty()) out += "  " + opt.help;
    out += '\n';
  }
  if (check_config_enabled_) {
    out +=
        "  --check-config  Validate the configuration, print it (secrets masked) and exit: "
        "0 when valid, 2 when not. Connects to nothing.\n";
  }
  out += "  -h, --help  Show this help and exit.\n";
  out += "Precedence: default < environment < flag.\n";
  return out;
}

std::string OptionSet::describe() const {
  std::string out;
  for (const Option& opt : options_) {
    out += "  --" + opt.flag + " = " + display(opt) + "  (";
    switch (opt.source) {
      case Option::Source::kDefault:
        out += "default";
        break;
      case Option::Source::kEnv:
        out += "env " + opt.env_used;
        break;
      case Option::Source::kFlag:
        out += "flag";
        break;
    }
    out += ")\n";
  }
  return out;
}

std::vector<std::string> OptionSet::unread_env(const std::map<std::string, std::string>& env,
                                               std::string_view prefix) const {
  std::vector<std::string> out;
  for (const auto& [name, value] : env) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    bool read = false;
    for (const Option& opt : options_) {
      read = read || opt.env == name;
      for (const auto& fallback : opt.fallbacks) read = read || fallback.first == name;
    }
    if (!read) out.push_back(name);
  }
  return out;
}

std::string OptionSet::check_report(const std::string& program,
                                    const std::map<std::string, std::string>& env) const {
  std::string out = program + ": configuration is valid\n" + describe();
  for (const auto& name : unread_env(env)) {
    out += "note: " + name + " is set but " + program + " does not read it\n";
  }
  return out;
}

std::map<std::string, std::string> environment_map() {
  std::map<std::string, std::string> out;
  if (environ == nullptr) return out;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::size_t eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    out.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return out;
}

void register_options(OptionSet& o, RetryBackoff& b) {
  o.add_int("retry-backoff-ms", "MILLRACE_RETRY_BACKOFF_MS", &b.first_ms,
            "First wait after a retryable PostgreSQL or Kafka failure", 1, 600'000);
  o.add_int("retry-backoff-max-ms", "MILLRACE_RETRY_BACKOFF_MAX_MS", &b.max_ms,
            "Longest wait between retries (the wait doubles up to this)", 1, 3'600'000);
}

void validate(const RetryBackoff& b) {
  if (b.max_ms < b.first_ms) {
    throw UsageError("--retry-backoff-max-ms must be >= --retry-backoff-ms");
  }
}

void add_metrics_addr(OptionSet& o, std::string* addr) {
  o.add_string("metrics-addr", "MILLRACE_METRICS_ADDR", addr,
               "host:port serving Prometheus metrics at /metrics (empty: off)");
}

}  // namespace millrace::core
