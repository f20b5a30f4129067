// Registering options on a core::OptionSet: their names, kinds, bounds and
// defaults, and what marks them afterwards (fallbacks, reload).

#include "millrace/core/options.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "option_spec.hpp"

namespace millrace::core {

OptionSet::OptionSet(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {}
OptionSet::~OptionSet() = default;
OptionSet::OptionSet(OptionSet&&) noexcept = default;
OptionSet& OptionSet::operator=(OptionSet&&) noexcept = default;

namespace {

using detail::choice_list;
using detail::display;
using Option = detail::OptionSpec;

// Services may register "count" or "--count"; both mean the same flag.
void strip_dashes(std::string& flag) {
  if (flag.starts_with("--")) flag.erase(0, 2);
}

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

}  // namespace millrace::core
