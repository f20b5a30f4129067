#pragma once

// MILLRACE_ARCHIVE_EMPTY_FILES: as Capture does when asked, a file with no
// records for each window in which a partition of the topic received
// nothing, so that a reader sees every window accounted for.

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "millrace/archive/capture.hpp"
#include "millrace/archive/writer.hpp"

namespace millrace::archive::detail {

class EmptyWindowWriter {
 public:
  // `grace_ms`: how long after a window's end its files may still be
  // committing; the window is judged only then. Windows from the one
  // `started_ms` falls in are judged, none before.
  EmptyWindowWriter(std::string group, std::string topic, std::string ns, RollPolicy policy,
                    std::string writer_id, Destination& destination, std::int64_t grace_ms,
                    std::int64_t started_ms);

  // Judges every window that ended `grace_ms` before `now_ms` and was not
  // judged yet: each partition the group has claimed and that has no file
  // in it gets an empty one. Per partition, under a lock on its offset row
  // (which a commit of the partition also takes), so that two members do
  // not both write it and a commit cannot slip in between the check and
  // the row. Returns the files written. Throws what libpqxx throws, or
  // std::runtime_error on an I/O failure; a window not judged to its end is
  // judged again next time.
  int run(pqxx::connection& connection, std::int64_t now_ms);

 private:
  bool write_one(pqxx::connection& connection, std::int32_t partition, std::int64_t window_start);

  std::string group_, topic_, ns_;
  RollPolicy policy_;
  std::string writer_id_;
  Destination& destination_;
  std::int64_t grace_ms_;
  std::int64_t next_window_;  // the start of the next window to judge
};

}  // namespace millrace::archive::detail
