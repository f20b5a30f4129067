#include "millrace/core/setting.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "millrace/core/options.hpp"

namespace millrace::core {

namespace {

// A declaration's field that its type does not take is a mistake to stop
// at once, not to ignore.
void refuse(const Setting& s, bool wrong, const std::string& what) {
  if (wrong) throw std::invalid_argument("setting --" + s.flag + ": " + what);
}

bool ranged(const Setting& s) {
  return s.min.number != 0 || s.max.number != 0;
}

}  // namespace

void declare_marks(OptionSet& o, Setting& s) {
  for (EnvFallback& fallback : s.env_fallbacks) {
    o.add_env_fallback(s.flag, std::move(fallback.env), std::move(fallback.deprecation));
  }
  if (s.reload) o.reloadable(s.flag, std::move(s.reload));
}

void declare(OptionSet& o, std::string* target, Setting s) {
  refuse(s, ranged(s), "its type takes no min or max");
  refuse(s, s.unit.has_value(), "its type takes no unit");
  if (s.choices.empty()) {
    o.add_string(s.flag, s.env, target, s.help, s.shown);
  } else {
    refuse(s, s.shown != Shown::kMasked, "its type takes no shown");
    o.add_choice(s.flag, s.env, target, s.help, s.choices);
  }
  declare_marks(o, s);
}

void declare(OptionSet& o, std::int64_t* target, Setting s) {
  refuse(s, !s.choices.empty(), "its type takes no choices");
  refuse(s, s.shown != Shown::kMasked, "its type takes no shown");
  refuse(s, !ranged(s), "a number takes min and max");
  if (s.unit) {
    o.add_duration(s.flag, s.env, target, *s.unit, s.help, s.min.integer, s.max.integer);
  } else {
    o.add_int(s.flag, s.env, target, s.help, s.min.integer, s.max.integer);
  }
  declare_marks(o, s);
}

void declare(OptionSet& o, double* target, Setting s) {
  refuse(s, !s.choices.empty(), "its type takes no choices");
  refuse(s, s.unit.has_value(), "its type takes no unit");
  refuse(s, s.shown != Shown::kMasked, "its type takes no shown");
  refuse(s, !ranged(s), "a number takes min and max");
  o.add_double(s.flag, s.env, target, s.help, s.min.number, s.max.number);
  declare_marks(o, s);
}

void declare(OptionSet& o, bool* target, Setting s) {
  refuse(s, ranged(s), "its type takes no min or max");
  refuse(s, s.unit.has_value() || !s.choices.empty(), "its type takes no unit or choices");
  refuse(s, s.shown != Shown::kMasked, "its type takes no shown");
  o.add_bool(s.flag, s.env, target, s.help);
  declare_marks(o, s);
}

void declare(OptionSet& o, std::vector<std::string>* target, Setting s) {
  refuse(s, ranged(s), "its type takes no min or max");
  refuse(s, s.unit.has_value() || !s.choices.empty(), "its type takes no unit or choices");
  refuse(s, s.shown != Shown::kMasked, "its type takes no shown");
  o.add_list(s.flag, s.env, target, s.help);
  declare_marks(o, s);
}

}  // namespace millrace::core
