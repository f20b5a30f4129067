#include "common.hpp"

#include <cstdarg>
#include <cstdio>

namespace millrace::cli {

int usage_error(Context& ctx, const std::string& command, const std::string& message) {
  ctx.err << "millrace " << command << ": " << message << "\nTry 'millrace " << command
          << " --help'.\n";
  ctx.err.flush();
  return 2;
}

std::optional<int> parse_flags(Context& ctx, core::OptionSet& options,
                               const std::vector<std::string>& args, const std::string& command,
                               const std::function<void()>& validate,
                               std::vector<std::string>* positional, const std::string& more_help) {
  options.enable_check_config();
  try {
    auto rest = options.parse(ctx.env, args);
    if (options.help_requested()) {
      ctx.out << options.help() << more_help;
      return 0;
    }
    if (positional != nullptr) {
      *positional = std::move(rest);
    } else if (!rest.empty()) {
      throw core::UsageError("unexpected argument \"" + rest[0] + "\"");
    }
    validate();
  } catch (const core::UsageError& e) {
    return usage_error(ctx, command, e.what());
  }
  if (options.check_config_requested()) {
    ctx.out << options.check_report("millrace " + command, ctx.env);
    return 0;
  }
  return std::nullopt;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string format(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list again;
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, fmt, args);
  va_end(args);
  std::string out(n > 0 ? static_cast<std::size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(out.data(), out.size() + 1, fmt, again);
  va_end(again);
  return out;
}

int dispatch(Context& ctx, const std::string& group, const char* usage,
             const std::vector<std::pair<std::string, Command>>& commands,
             const std::vector<std::string>& args) {
  if (args.empty()) {
    ctx.err << usage;
    return 2;
  }
  if (args[0] == "--help" || args[0] == "-h") {
    ctx.out << usage;
    return 0;
  }
  for (const auto& [name, command] : commands) {
    if (name == args[0]) return command({args.begin() + 1, args.end()}, ctx);
  }
  return usage_error(ctx, group, "unknown command \"" + args[0] + "\"");
}

}  // namespace millrace::cli
