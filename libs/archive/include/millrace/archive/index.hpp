#pragma once

// The archive as `millrace archive` sees it: the files archive_files
// records, and the checks of `archive verify` against them. The checks are
// pure over what they are given (check_ranges) or read only the archive's
// directory (check_files), so they are tested without a database.

#include <cstdint>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "millrace/objstore/store.hpp"

namespace millrace::archive {

// One row of archive_files.
struct ArchivedFile {
  std::string path;    // relative to the archive's root or prefix
  std::string staged;  // its name under .staging/ until published
  std::int32_t partition = 0;
  std::int64_t from_offset = 0;
  std::int64_t first_offset = 0;  // -1 for an empty file (no records)
  std::int64_t last_offset = 0;   // -1 for an empty file
  std::int64_t records = 0;
  std::int64_t bytes = 0;
  std::string sha256;
  bool published = false;
  std::string min_time;  // the records' oldest and newest timestamps, RFC 3339
  std::string max_time;  // (both empty for an empty file)
};

// offsets from .. to - 1 of a partition, which retention deleted before the
// group read them (offset_gaps; MILLRACE_ON_OFFSET_GAP=skip).
struct OffsetGap {
  std::int32_t partition = 0;
  std::int64_t from = 0;
  std::int64_t to = 0;
};

// Something `archive verify` found: what it is about (a path, or
// "partition N"), and what is wrong, in words an operator can act on.
struct Finding {
  std::string subject;
  std::string what;
};

// Which files to list: a partition, and files holding records from `from`
// (inclusive) to `to` (exclusive), times as PostgreSQL reads timestamptz.
struct FileFilter {
  std::optional<std::int32_t> partition;
  std::optional<std::string> from;
  std::optional<std::string> to;
};

// Caller contract for the loaders: `tx` reads the schema the archiver
// writes; a time PostgreSQL cannot read throws std::invalid_argument naming
// it; any other failure throws what libpqxx threw.
std::vector<ArchivedFile> load_files(pqxx::dbtransaction& tx, const std::string& group,
                                     const std::string& topic, const FileFilter& filter = {});
std::vector<OffsetGap> load_gaps(pqxx::dbtransaction& tx, const std::string& group,
                                 const std::string& topic);
// The group's stored next offset per partition (partitions with none stored
// yet are left out).
std::map<std::int32_t, std::int64_t> load_stored(pqxx::dbtransaction& tx, const std::string& group,
                                                 const std::string& topic);

// The files' offset ranges, per partition: each file starts right after the
// previous one's last record, or after a recorded gap; none overlaps another;
// and the last ends where the group's stored offset says reading reached.
std::vector<Finding> check_ranges(const std::vector<ArchivedFile>& files,
                                  const std::vector<OffsetGap>& gaps,
                                  const std::map<std::int32_t, std::int64_t>& stored);

// What the archive holds under {ns}/{topic}/ (a directory, a bucket or a
// container): every recorded file present with its size and SHA-256 (read
// back in full), and no object there that no row records. Files still
// staged are findings too, but the archiver's own to finish. Throws
// std::runtime_error (objstore::StoreError from a store) if the archive
// cannot be read.
struct FileCheck {
  std::vector<Finding> findings;
  std::int64_t checked = 0;
  std::int64_t bytes = 0;
};
FileCheck check_files(objstore::ObjectStore& store, const std::string& ns, const std::string& topic,
                      const std::vector<ArchivedFile>& files);

// The SHA-256 of a file's bytes, lowercase hex. Throws std::runtime_error.
std::string sha256_of_file(const std::string& path);
// The same of an object, read from its store.
std::string sha256_of_object(objstore::ObjectStore& store, const std::string& key);

}  // namespace millrace::archive
