#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::core {

// The text of each value of an enum whose values are 0..N-1: the codes that
// leave the process (dead-letter headers, SQL, metric labels) or name a case
// in a log. Each entry sits next to its enumerator as a switch would have it,
// and the constructor, run at compile time, refuses an entry out of order or
// a name given twice; N is the enum's count constant, so a table that misses
// an enumerator does not compile either. Unlike a switch, the table also reads
// backwards (parse), and it is what a setting of the enum takes
// (OptionSet::add_enum).
template <class Enum, std::size_t N>
class EnumNames {
 public:
  struct Entry {
    Enum value;
    std::string_view name;
  };

  consteval explicit EnumNames(const Entry (&entries)[N]) {
    for (std::size_t i = 0; i < N; ++i) {
      // Not constant expressions, so a bad table fails the build.
      if (static_cast<std::size_t>(entries[i].value) != i) throw "EnumNames: entry out of order";
      for (std::size_t j = 0; j < i; ++j) {
        if (names_[j] == entries[i].name) throw "EnumNames: name given twice";
      }
      names_[i] = entries[i].name;
    }
  }

  // "unknown" for a value the enum does not name (a cast from a wider integer).
  constexpr std::string_view name(Enum value) const {
    const auto i = static_cast<std::size_t>(value);
    return i < N ? names_[i] : std::string_view("unknown");
  }

  // Every name, in the enum's order: what a setting of it takes
  // (OptionSet::add_enum).
  std::vector<std::string> names() const { return {names_.begin(), names_.end()}; }

  constexpr std::optional<Enum> parse(std::string_view name) const {
    for (std::size_t i = 0; i < N; ++i) {
      if (names_[i] == name) return static_cast<Enum>(i);
    }
    return std::nullopt;
  }

 private:
  std::array<std::string_view, N> names_{};
};

}  // namespace millrace::core
