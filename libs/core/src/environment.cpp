// environment_map(): the single place that reads environ.

#include <map>
#include <string>
#include <string_view>

#include "millrace/core/options.hpp"

// POSIX declares it in <unistd.h> only under feature macros; say it here.
extern "C" char** environ;

namespace millrace::core {

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

}  // namespace millrace::core
