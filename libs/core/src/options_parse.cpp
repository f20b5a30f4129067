// OptionSet::parse: the environment, the flags and the config file, each
// value applied in precedence order.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "millrace/core/options.hpp"
#include "millrace/core/settings_file.hpp"
#include "option_spec.hpp"

namespace millrace::core {

using detail::apply;
using detail::raw;

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

}  // namespace millrace::core
