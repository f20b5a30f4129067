// SIGHUP: what differs between the settings in force and a re-read of
// them, and taking the reloadable ones.

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "millrace/core/options.hpp"
#include "option_spec.hpp"

namespace millrace::core {

namespace {

using detail::raw;
using detail::shown;
using Option = detail::OptionSpec;

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

}  // namespace millrace::core
