// The settings of archive, each declared once (core::declare): --help,
// --check-config, the SIGHUP marks and docs/configuration.md are made from
// these declarations, in this order.

#include "millrace/archive/config.hpp"
#include "millrace/core/options.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/stream/consumer.hpp"

namespace millrace::archive {

void register_options(core::OptionSet& o, ArchiverConfig& c) {
  stream::register_options(o, c.stream);
  register_location(o, c.store, c.root);
  core::declare(o, &c.spool,
                {.flag = "spool",
                 .env = "MILLRACE_ARCHIVE_SPOOL",
                 .help = "Object stores: the local directory files are written to before they are "
                         "uploaded (default: the temporary directory's millrace-archive-spool); a "
                         "window's file per partition at most"});
  core::declare(o, &c.parallel_parts,
                {.flag = "parallel-parts",
                 .env = "MILLRACE_ARCHIVE_PARALLEL_PARTS",
                 .help = "Object stores: how many parts (of one file or of a window's files) are "
                         "uploaded at a time, each on a connection of its own; each holds a part "
                         "(--archive-part-mb) in memory while it goes up",
                 .min = 1,
                 .max = 64});
  register_namespace(o, c.ns);
  core::declare(o, &c.window_s,
                {.flag = "window-s",
                 .env = "MILLRACE_ARCHIVE_WINDOW_S",
                 .help = "Close each partition's file at the end of this time window (windows are "
                         "aligned to multiples of it since the epoch, UTC)",
                 .min = 1,
                 .max = 86'400,
                 .unit = core::DurationUnit::kSeconds});
  core::declare(
      o, &c.max_mb,
      {.flag = "max-mb",
       .env = "MILLRACE_ARCHIVE_MAX_MB",
       .help = "Or once the file holds this many megabytes (10^6 bytes), whichever comes first",
       .min = 1,
       .max = 1'000'000});
  core::declare(
      o, &c.max_record_kb,
      {.flag = "max-record-kb",
       .env = "MILLRACE_ARCHIVE_MAX_RECORD_KB",
       .help = "The largest record (key, headers and value) the archive takes, in KiB: Avro's "
               "block size, held in memory per open file. The default is above Kafka's default "
               "message.max.bytes; raise it with the topic's max.message.bytes",
       .min = 64,
       .max = 262'144});
  core::declare(o, &c.empty_files,
                {.flag = "empty-files",
                 .env = "MILLRACE_ARCHIVE_EMPTY_FILES",
                 .help = "Write a file with no records for each window in which a partition "
                         "received nothing (as Capture's \"emit empty files\")"});
}

}  // namespace millrace::archive
