#include "millrace/archive/config.hpp"

#include <stdexcept>

namespace millrace::archive {

void register_options(core::OptionSet& o, ArchiverConfig& c) {
  stream::register_options(o, c.stream);
  o.add_string("root", "MILLRACE_ARCHIVE_ROOT", &c.root,
               "Directory the archive is written under (local, NFS, or a bucket mounted with a "
               "FUSE driver); staged files go to its .staging directory, which every member of "
               "the group must reach too");
  o.add_string("namespace", "MILLRACE_ARCHIVE_NAMESPACE", &c.ns,
               "First directory of every file's path ({namespace}/{topic}/{partition}/...), as "
               "Event Hubs Capture's namespace");
  o.add_int("window-s", "MILLRACE_ARCHIVE_WINDOW_S", &c.window_s,
            "Close each partition's file at the end of this time window (windows are aligned "
            "to multiples of it since the epoch, UTC)",
            1, 86'400);
  o.add_int("max-mb", "MILLRACE_ARCHIVE_MAX_MB", &c.max_mb,
            "Or once the file holds this many megabytes (10^6 bytes), whichever comes first", 1,
            1'000'000);
  o.add_bool("empty-files", "MILLRACE_ARCHIVE_EMPTY_FILES", &c.empty_files,
             "Write a file with no records for each window in which a partition received "
             "nothing (as Capture's \"emit empty files\")");
}

void validate(ArchiverConfig& c) {
  stream::validate(c.stream);
  if (c.root.empty()) throw core::UsageError("--root / MILLRACE_ARCHIVE_ROOT is required");
  try {
    (void)capture_path(c.ns, c.stream.kafka.topic, 0, 0);
  } catch (const std::invalid_argument& e) {
    throw core::UsageError(std::string("--namespace / MILLRACE_ARCHIVE_NAMESPACE, or the topic: ") +
                           e.what());
  }
  c.policy.window_ms = c.window_s * 1000;
  c.policy.max_bytes = c.max_mb * 1'000'000;
}

}  // namespace millrace::archive
