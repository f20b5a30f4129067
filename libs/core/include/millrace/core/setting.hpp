#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "millrace/core/enum_names.hpp"
#include "millrace/core/options.hpp"

namespace millrace::core {

// A setting is declared once, in C++: the function that registers its
// library's settings (register_options) calls core::declare with the member
// that holds it and this description of it. The member's initialiser
// in the library's config struct is its default; the member's type is the
// setting's type (std::string, std::int64_t, double, bool, a list, an enum
// with its core::EnumNames), refined by `unit` (a duration) or `choices`.
// --help, --check-config, the SIGHUP reload marks and docs/configuration.md
// (scripts/docs-tables, from OptionSet::reference()) are all made from it.
//
//   core::declare(o, &c.max_mb,
//                 {.flag = "max-mb",
//                  .env = "MILLRACE_ARCHIVE_MAX_MB",
//                  .help = "Or once the file holds this many megabytes",
//                  .min = 1,
//                  .max = 1'000'000});
//
// Fields left out keep their defaults; designated initialisers name the
// rest, in this order.

// One end of a number's range: an integer for an integer or a duration
// setting, a number for a double.
struct Bound {
  template <std::integral I>
  constexpr Bound(I v) : integer(static_cast<std::int64_t>(v)), number(static_cast<double>(v)) {}
  constexpr Bound(double v) : integer(static_cast<std::int64_t>(v)), number(v) {}
  std::int64_t integer;
  double number;
};

// Another variable the setting is read from when none before it is set
// (OptionSet::add_env_fallback): a shared one has no `deprecation`; an old
// name still read says what to set instead.
struct EnvFallback {
  std::string env = {};
  std::string deprecation = {};
};

using DurationUnit = OptionSet::DurationUnit;
using Shown = OptionSet::Shown;

struct Setting {
  std::string flag = {};  // without "--"
  std::string env = {};   // MILLRACE_...; empty: a flag only
  std::string help = {};
  // Integer, double and duration settings: the accepted range (a
  // duration's counts `unit`).
  Bound min = 0;
  Bound max = 0;
  // An integer setting that is a duration, stored as a count of this unit
  // ("--batch-ms 2s" is 2000).
  std::optional<DurationUnit> unit = {};
  // A string setting that takes one of these values.
  std::vector<std::string> choices = {};
  // How a string's value is shown by --help and --check-config.
  Shown shown = Shown::kMasked;
  std::vector<EnvFallback> env_fallbacks = {};
  // Set: a running service takes a new value on SIGHUP, and this hands it
  // to whatever reads it (OptionSet::reloadable). Empty: a restart.
  std::function<void()> reload = {};
};

void declare(OptionSet& o, std::string* target, Setting s);
void declare(OptionSet& o, std::int64_t* target, Setting s);
void declare(OptionSet& o, double* target, Setting s);
void declare(OptionSet& o, bool* target, Setting s);
void declare(OptionSet& o, std::vector<std::string>* target, Setting s);
// What every declaration does after it registered its option: its
// fallbacks and its reload mark.
void declare_marks(OptionSet& o, Setting& s);

// One of an enum's values, by their names in `names` (a table of static
// storage).
template <typename E, std::size_t N>
void declare(OptionSet& o, E* target, const EnumNames<E, N>& names, Setting s) {
  o.add_enum(s.flag, s.env, target, names, s.help);
  declare_marks(o, s);
}

}  // namespace millrace::core
