#pragma once

// The private part of core::OptionSet shared by its sources: one option's
// data, and how a value of it is read and shown.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/core/options.hpp"

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

// The value as stored, unmasked: what OptionSet::changes() compares.
std::string raw(const OptionSpec& opt);
// "a, b or c".
std::string choice_list(const std::vector<std::string>& choices);
// How `value` (a raw() of `opt`) is shown in help(), describe() and the
// changes: a string's secrets masked as opt.shown says.
std::string shown(const OptionSpec& opt, const std::string& value);
// The text shown for a value in help() and describe().
std::string display(const OptionSpec& opt);
// Parses and stores one value; `origin` ("--count" or "MILLRACE_COUNT")
// prefixes any error so the user knows which input to fix.
void apply(OptionSpec& opt, std::string_view value, const std::string& origin);

}  // namespace detail

struct OptionSet::Option : detail::OptionSpec {};

}  // namespace millrace::core
