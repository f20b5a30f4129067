// What an OptionSet prints: --help, the effective values (describe,
// --check-config) and the reference scripts/docs-tables reads.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/core/options.hpp"
#include "option_spec.hpp"

namespace millrace::core {

using detail::display;

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

}  // namespace millrace::core
