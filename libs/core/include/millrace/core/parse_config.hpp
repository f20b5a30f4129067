#pragma once

// A service configuration read as its main() reads it: the options its
// namespace registers (register_options, found by argument-dependent
// lookup), then the environment and the flags, then its validate(). For
// tests, which would otherwise each repeat these four steps.

#include <map>
#include <string>
#include <vector>

#include "millrace/core/options.hpp"

namespace millrace::core {

// Throws core::UsageError as the service would report it.
template <typename Config>
Config parse_config(const std::map<std::string, std::string>& env,
                    const std::vector<std::string>& args, Config config = {}) {
  OptionSet options("test", "test");
  register_options(options, config);
  options.parse(env, args);
  validate(config);
  return config;
}

}  // namespace millrace::core
