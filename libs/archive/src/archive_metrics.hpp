#pragma once

// The archiver's metric families (metrics/family.hpp), in the order of
// their table in docs/operations.md: its files (probe.cpp) and its object
// store (object_destination.cpp).

#include "millrace/metrics/family.hpp"

namespace millrace::archive::detail {

inline const metrics::Family kArchiveFiles({.name = "millrace_archive_files_total",
                                            .type = metrics::Type::kCounter,
                                            .help = "Archive files committed",
                                            .labels = {"topic", "partition"},
                                            .group = "archive"});
inline const metrics::Family kArchiveRecords({.name = "millrace_archive_records_total",
                                              .type = metrics::Type::kCounter,
                                              .help = "Records in the archive files committed",
                                              .labels = {"topic", "partition"},
                                              .group = "archive"});
inline const metrics::Family kArchiveBytes({.name = "millrace_archive_bytes_total",
                                            .type = metrics::Type::kCounter,
                                            .help = "Bytes of the archive files committed",
                                            .labels = {"topic", "partition"},
                                            .group = "archive"});
inline const metrics::Family kArchiveNewestRecordAge(
    {.name = "millrace_archive_newest_record_age_seconds",
     .type = metrics::Type::kGauge,
     .help = "Age of the newest record archived (its Kafka timestamp) per partition",
     .labels = {"topic", "partition"},
     .group = "archive"});
inline const metrics::Family kArchiveSinceLastFile(
    {.name = "millrace_archive_seconds_since_last_file",
     .type = metrics::Type::kGauge,
     .help = "Seconds since this process last committed an archive file (since it "
             "started, before the first)",
     .labels = {"topic"},
     .group = "archive"});
inline const metrics::Family kArchivePublishErrors(
    {.name = "millrace_archive_publish_errors_total",
     .type = metrics::Type::kCounter,
     .help = "Recorded files whose move into the layout failed after their commit "
             "(the partition's next commit retries)",
     .group = "archive"});
inline const metrics::Family kArchiveStoreErrors(
    {.name = "millrace_archive_store_errors_total",
     .type = metrics::Type::kCounter,
     .help = "Requests to the archive's object store that failed, by kind: "
             "`network`, `server`, `credentials`, `not_found`, `checksum` or "
             "`refused`",
     .labels = {"kind"},
     .group = "archive"});
inline const metrics::Family kArchiveStoreFailing(
    {.name = "millrace_archive_store_failing_seconds",
     .type = metrics::Type::kGauge,
     .help = "Seconds since the archive's object store began failing every request "
             "(0 while it answers)",
     .group = "archive"});

}  // namespace millrace::archive::detail
