#pragma once
// A settings file (--config-file / MILLRACE_CONFIG_FILE): the MILLRACE_*
// variables a service reads, one "MILLRACE_NAME=value" a line, read at start
// and again on SIGHUP (docs/operations.md, "Reloading settings (SIGHUP)").
// Parsing only: the caller reads the file (core does no I/O).

#include <string>
#include <string_view>
#include <vector>

namespace millrace::core {

struct SettingsEntry {
  std::string name;   // MILLRACE_BATCH_SIZE
  std::string value;  // the text after '=', blanks around it trimmed, no quoting
  int line = 0;       // 1-based
};

// The entries of `text`, in file order. Blank lines and lines whose first
// non-blank character is '#' are skipped; "\r\n" endings are accepted.
// Throws UsageError "<path>:<line>: ..." for a line that is not
// MILLRACE_NAME=value (the line itself is not repeated: it may hold a
// secret) and for a name set twice. Which names a service reads is
// OptionSet's to say.
std::vector<SettingsEntry> parse_settings_file(std::string_view text, const std::string& path);

}  // namespace millrace::core
