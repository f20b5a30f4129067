#include "millrace/core/options.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "millrace/core/secrets.hpp"
#include "millrace/core/settings_file.hpp"
#include "millrace/core/values.hpp"

// POSIX declares it in <unistd.h> only under feature macros; say it here.
extern "C" char** environ;

namespace millrace::core {

namespace detail {

// The data of one option. OptionSet::Option is private, so the free helpers
// below work on this base instead.
struct OptionSpec {
  enum class Kind : std::uint8_t { kString, kInt, kDouble, kBool, kDuration, kChoice, kList };
  enum class Source : std::uint8_t { kDefault, kFile, kEnv, kFlag };

  Kind kind = Kind::kString;
  std::string flag;  // without the leading "--"
  std::string env;   // empty: no environment variable
  // Read in order when `env` is unset: (variable, deprecation note or "").
  std::vector<std::pair<std::string, std::string>> fallbacks;
  std::string env_used;  // the variable the value came from (source kEnv or kFile)
  std::string help;
  OptionSet::Shown shown = OptionSet::Shown::kMasked;
  std::string* string_target = nullptr;
  std::int64_t* int_target = nullptr;
  double* double_target = nullptr;
  bool* bool_target = nullptr;
  std::vector<std::string>* list_target = nullptr;
  // kDuration: int_target counts this unit; int_min and int_max too.
  std::int64_t unit_ms = 1;
  // kChoice: the values it takes, and the target's, by index in them.
  std::vector<std::string> choices;
  std::function<std::size_t()> get_choice;
  std::function<void(std::size_t)> set_choice;
  std::int64_t int_min = 0;
  std::int64_t int_max = 0;
  double double_min = 0;
  double double_max = 0;
  std::string default_text;
  Source source = Source::kDefault;
  // What the config file sets, as raw() would show it once applied (also
  // when the environment or a flag overrides it), and on which line.
  std::optional<std::string> file_value;
  int file_line = 0;
  // Taken on SIGHUP (OptionSet::reloadable): called once adopt() set it.
  std::function<void()> apply;
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

// The value as stored, unmasked: what changes() compares.
std::string raw(const Option& opt) {
  switch (opt.kind) {
    case Option::Kind::kString:
      return *opt.string_target;
    case Option::Kind::kInt:
      return std::to_string(*opt.int_target);
    case Option::Kind::kDouble:
      return format_double(*opt.double_target);
    case Option::Kind::kBool:
      return *opt.bool_target ? "true" : "false";
    case Option::Kind::kDuration:
      return format_duration(std::chrono::milliseconds(*opt.int_target * opt.unit_ms));
    case Option::Kind::kChoice:
      return opt.choices.at(opt.get_choice());
    case Option::Kind::kList:
      return join_list(*opt.list_target);
  }
  return "";
}

std::string unit_name(std::int64_t unit_ms) {
  switch (unit_ms) {
    case 1:
      return "milliseconds";
    case 1000:
      return "seconds";
    case 60'000:
      return "minutes";
    case 3'600'000:
      return "hours";
    default:
      return "days";
  }
}

std::string choice_list(const std::vector<std::string>& choices) {
  std::string out;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    out += i == 0 ? "" : (i + 1 == choices.size() ? " or " : ", ");
    out += choices[i];
  }
  return out;
}

// How `value` (a raw() of `opt`) is shown in help(), describe() and the
// changes: a string's secrets masked as opt.shown says.
std::string shown(const Option& opt, const std::string& value) {
  if (value.empty()) return "\"\"";
  if (opt.kind != Option::Kind::kString) return value;
  switch (opt.shown) {
    case OptionSet::Shown::kSecret:
      return "***";
    case OptionSet::Shown::kPropertyList:
      return mask_property_list(value);
    case OptionSet::Shown::kMasked:
      return names_secret(opt.flag) ? "***" : mask_secrets(value);
  }
  return "***";
}

// The text shown for a value in help() and describe().
std::string display(const Option& opt) {
  return shown(opt, raw(opt));
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
    case Option::Kind::kDuration: {
      const std::chrono::milliseconds unit(opt.unit_ms);
      std::chrono::milliseconds d{0};
      try {
        d = parse_duration(value, unit);
      } catch (const std::invalid_argument& e) {
        throw UsageError(origin + ": " + e.what());
      }
      const auto range = [&] {
        return " between " + format_duration(unit * opt.int_min) + " and " +
               format_duration(unit * opt.int_max);
      };
      if (d.count() % opt.unit_ms != 0) {
        throw UsageError(origin + ": expected a whole number of " + unit_name(opt.unit_ms) +
                         range() + ", got " + quote(value));
      }
      const std::int64_t v = d.count() / opt.unit_ms;
      if (v < opt.int_min || v > opt.int_max) {
        throw UsageError(origin + ": expected a duration" + range() + ", got " + quote(value));
      }
      *opt.int_target = v;
      return;
    }
    case Option::Kind::kChoice:
      for (std::size_t i = 0; i < opt.choices.size(); ++i) {
        if (value == opt.choices[i]) {
          opt.set_choice(i);
          return;
        }
      }
      throw UsageError(origin + ": expected " + choice_list(opt.choices) + ", got " + quote(value));
    case Option::Kind::kList:
      *opt.list_target = split_list(value);
      return;
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

// Registers one option: its names and help, checked, then what `fill`
// sets (its kind, target and bounds), then its default as shown.
template <class Options, class Fill>
void push_option(Options& options, std::string flag, std::string env, std::string help, Fill fill) {
  typename Options::value_type opt;
  init_option(opt, options, std::move(flag), std::move(env), std::move(help));
  fill(opt);
  opt.default_text = display(opt);
  options.push_back(std::move(opt));
}

void check_range(const std::string& flag, bool ordered) {
  if (!ordered) throw std::invalid_argument("option --" + flag + ": min > max");
}

}  // namespace

void OptionSet::add_string(std::string flag, std::string env, std::string* target, std::string help,
                           Shown shown) {
  push_option(options_, std::move(flag), std::move(env), std::move(help), [&](Option& o) {
    o.kind = Option::Kind::kString;
    o.string_target = target;
    o.shown = shown;
  });
}

void OptionSet::add_int(std::string flag, std::string env, std::int64_t* target, std::string help,
                        std::int64_t min, std::int64_t max) {
  check_range(flag, min <= max);
  push_option(options_, std::move(flag), std::move(env), std::move(help), [&](Option& o) {
    o.kind = Option::Kind::kInt;
    o.int_target = target;
    o.int_min = min;
    o.int_max = max;
  });
}

void OptionSet::add_double(std::string flag, std::string env, double* target, std::string help,
                           double min, double max) {
  check_range(flag, min <= max);
  push_option(options_, std::move(flag), std::move(env), std::move(help), [&](Option& o) {
    o.kind = Option::Kind::kDouble;
    o.double_target = target;
    o.double_min = min;
    o.double_max = max;
  });
}

void OptionSet::add_bool(std::string flag, std::string env, bool* target, std::string help) {
  push_option(options_, std::move(flag), std::move(env), std::move(help), [&](Option& o) {
    o.kind = Option::Kind::kBool;
    o.bool_target = target;
  });
}

void OptionSet::add_duration(std::string flag, std::string env, std::int64_t* target,
                             DurationUnit unit, std::string help, std::int64_t min,
                             std::int64_t max) {
  check_range(flag, min <= max);
  push_option(options_, std::move(flag), std::move(env), std::move(help), [&](Option& o) {
    o.kind = Option::Kind::kDuration;
    o.int_target = target;
    o.unit_ms = static_cast<std::int64_t>(unit);
    o.int_min = min;
    o.int_max = max;
  });
}

void OptionSet::add_choice(std::string flag, std::string env, std::string* target, std::string help,
                           std::vector<std::string> choices) {
  auto shared = std::make_shared<const std::vector<std::string>>(choices);
  add_choice_of(
      std::move(flag), std::move(env), std::move(help), std::move(choices),
      [target, shared] {
        const auto it = std::find(shared->begin(), shared->end(), *target);
        return static_cast<std::size_t>(it - shared->begin());
      },
      [target, shared](std::size_t i) { *target = (*shared)[i]; });
}

void OptionSet::add_choice_of(std::string flag, std::string env, std::string help,
                              std::vector<std::string> choices, std::function<std::size_t()> get,
                              std::function<void(std::size_t)> set) {
  if (get() >= choices.size()) {
    throw std::invalid_argument("option --" + flag + ": its default is not a choice");
  }
  push_option(options_, std::move(flag), std::move(env), std::move(help), [&](Option& o) {
    o.kind = Option::Kind::kChoice;
    o.choices = std::move(choices);
    o.get_choice = std::move(get);
    o.set_choice = std::move(set);
    o.help += (o.help.empty() ? "" : " ") + std::string("(") + choice_list(o.choices) + ")";
  });
}

void OptionSet::add_list(std::string flag, std::string env, std::vector<std::string>* target,
                         std::string help) {
  push_option(options_, std::move(flag), std::move(env), std::move(help), [&](Option& o) {
    o.kind = Option::Kind::kList;
    o.list_target = target;
  });
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
  // Last, so that the path may come from either; the file fills in only
  // what neither set.
  if (read_file_ && !config_file_->empty()) apply_config_file(*config_file_);
  return positional;
}

OptionSet::Option* OptionSet::find_env(const std::string& name) {
  for (Option& opt : options_) {
    if (opt.env == name) return &opt;
    for (const auto& fallback : opt.fallbacks) {
      if (fallback.first == name) return &opt;
    }
  }
  return nullptr;
}

void OptionSet::apply_config_file(const std::string& path) {
  const std::string text = read_file_(path);
  file_read_ = path;
  std::map<const Option*, int> set_at;  // line
  for (const SettingsEntry& entry : parse_settings_file(text, path)) {
    const std::string where = path + ":" + std::to_string(entry.line) + ": " + entry.name;
    for (const auto& [name, message] : retired_) {
      if (name == entry.name) throw UsageError(where + " is no longer read: " + message);
    }
    if (entry.name == "MILLRACE_CONFIG_FILE") {
      throw UsageError(where +
                       " names the file in the environment or with --config-file, "
                       "not in the file itself");
    }
    Option* opt = find_env(entry.name);
    if (opt == nullptr) {
      throw UsageError(where + " is not a setting of " + program_ +
                       " (a misspelt name, or another program's; see " + program_ + " --help)");
    }
    if (const auto it = set_at.find(opt); it != set_at.end()) {
      throw UsageError(where + " sets --" + opt->flag + ", which line " +
                       std::to_string(it->second) + " sets already");
    }
    set_at.emplace(opt, entry.line);
    // Parsed into a scratch copy first: a bad value is refused even where
    // the environment or a flag overrides it.
    std::string s;
    std::int64_t i = 0;
    double d = 0;
    bool b = false;
    std::vector<std::string> l;
    std::size_t c = 0;
    Option scratch = *opt;
    scratch.get_choice = [&c] { return c; };
    scratch.set_choice = [&c](std::size_t v) { c = v; };
    scratch.string_target = &s;
    scratch.int_target = &i;
    scratch.double_target = &d;
    scratch.bool_target = &b;
    scratch.list_target = &l;
    apply(scratch, entry.value, where);
    opt->file_value = raw(scratch);
    opt->file_line = entry.line;
    if (opt->source != Option::Source::kDefault) continue;
    apply(*opt, entry.value, where);
    opt->source = Option::Source::kFile;
    opt->env_used = entry.name;
  }
}

void OptionSet::enable_config_file(FileReader read) {
  add_string("config-file", "MILLRACE_CONFIG_FILE", config_file_.get(),
             "A file of MILLRACE_NAME=value lines (# comments), read under the environment and "
             "the flags; SIGHUP reads it again (docs/operations.md, \"Reloading settings\")");
  read_file_ = std::move(read);
}

const std::string& OptionSet::config_file() const {
  return file_read_;
}

void OptionSet::reloadable(const std::string& flag, std::function<void()> apply) {
  for (Option& opt : options_) {
    if (opt.flag != flag) continue;
    opt.apply = std::move(apply);
    return;
  }
  throw std::logic_error("reloadable: no option --" + flag);
}

namespace {

// The source of a value that the file cannot change.
std::string fixed_by(const Option& opt) {
  return opt.source == Option::Source::kFlag ? "flag --" + opt.flag : "env " + opt.env_used;
}

template <class Options>
void require_same_options(const Options& a, const Options& b) {
  bool same = a.size() == b.size();
  for (std::size_t i = 0; same && i < a.size(); ++i) same = a[i].flag == b[i].flag;
  if (!same) throw std::logic_error("OptionSet::changes: the sets hold different options");
}

}  // namespace

std::vector<OptionSet::Change> OptionSet::changes(const OptionSet& next) const {
  require_same_options(options_, next.options_);
  std::vector<Change> out;
  for (std::size_t i = 0; i < options_.size(); ++i) {
    const Option& now = options_[i];
    const Option& then = next.options_[i];
    const std::string before = raw(now);
    const std::string after = raw(then);
    if (before != after) {
      out.push_back({then.apply ? Change::Kind::kReload : Change::Kind::kRestart, then.flag,
                     shown(now, before), shown(then, after), ""});
    } else if (then.file_value && *then.file_value != after &&
               (then.source == Option::Source::kEnv || then.source == Option::Source::kFlag)) {
      out.push_back({Change::Kind::kFixed, then.flag, shown(now, before),
                     shown(then, *then.file_value), fixed_by(then)});
    }
  }
  return out;
}

void OptionSet::adopt(const OptionSet& next) {
  require_same_options(options_, next.options_);
  std::vector<const std::function<void()>*> taken;
  for (std::size_t i = 0; i < options_.size(); ++i) {
    Option& now = options_[i];
    const Option& then = next.options_[i];
    if (!now.apply || raw(now) == raw(then)) continue;
    switch (now.kind) {
      case Option::Kind::kString:
        *now.string_target = *then.string_target;
        break;
      case Option::Kind::kInt:
        *now.int_target = *then.int_target;
        break;
      case Option::Kind::kDouble:
        *now.double_target = *then.double_target;
        break;
      case Option::Kind::kBool:
        *now.bool_target = *then.bool_target;
        break;
      case Option::Kind::kDuration:
        *now.int_target = *then.int_target;
        break;
      case Option::Kind::kChoice:
        now.set_choice(then.get_choice());
        break;
      case Option::Kind::kList:
        *now.list_target = *then.list_target;
        break;
    }
    now.source = then.source;
    now.env_used = then.env_used;
    now.file_value = then.file_value;
    now.file_line = then.file_line;
    taken.push_back(&now.apply);
  }
  // After every value is in: an apply may read several (batch size and time).
  for (const auto* apply : taken) (*apply)();
}

std::string OptionSet::help() const {
  std::string out = "Usage: " + program_ + " [OPTIONS]\n";
  if (!summary_.empty()) out += summary_ + "\n";
  out += "\nOptions:\n";
  for (const Option& opt : options_) {
    out += "  --" + opt.flag;
    if (opt.kind == Option::Kind::kDuration) {
      out += " DURATION";
    } else if (opt.kind == Option::Kind::kList) {
      out += " LIST";
    } else if (opt.kind != Option::Kind::kBool) {
      out += " VALUE";
    }
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
    if (opt.apply) out += " [SIGHUP reloads it]";
    out += '\n';
  }
  if (check_config_enabled_) {
    out +=
        "  --check-config  Validate the configuration, print it (secrets masked) and exit: "
        "0 when valid, 2 when not. Connects to nothing.\n";
  }
  out += "  -h, --help  Show this help and exit.\n";
  if (read_file_) {
    out +=
        "Precedence: default < --config-file < environment < flag. On SIGHUP the service reads "
        "its --config-file again: it applies the options marked [SIGHUP reloads it] at once, and "
        "logs the other changes as needing a restart.\n";
  } else {
    out += "Precedence: default < environment < flag.\n";
  }
  return out;
}

std::string OptionSet::reference() const {
  std::string out;
  for (const Option& opt : options_) {
    std::string envs = opt.env;
    for (const auto& [name, deprecation] : opt.fallbacks) {
      if (deprecation.empty()) envs += (envs.empty() ? "" : ",") + name;
    }
    out += opt.flag + '\t' + envs + '\t' + opt.default_text + '\t' +
           (opt.apply ? "reload" : "restart") + '\t' + opt.help + '\n';
  }
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
      case Option::Source::kFile:
        out += "file " + file_read_ + ":" + std::to_string(opt.file_line);
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
  o.add_duration("retry-backoff-ms", "MILLRACE_RETRY_BACKOFF_MS", &b.first_ms,
                 OptionSet::DurationUnit::kMilliseconds,
                 "First wait after a retryable PostgreSQL or Kafka failure", 1, 600'000);
  o.add_duration("retry-backoff-max-ms", "MILLRACE_RETRY_BACKOFF_MAX_MS", &b.max_ms,
                 OptionSet::DurationUnit::kMilliseconds,
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
