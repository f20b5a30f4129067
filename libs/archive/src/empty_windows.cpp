#include "empty_windows.hpp"

#include <stdexcept>
#include <utility>
#include <vector>

namespace millrace::archive::detail {

EmptyWindowWriter::EmptyWindowWriter(std::string group, std::string topic, std::string ns,
                                     RollPolicy policy, std::string writer_id,
                                     Destination& destination, std::int64_t grace_ms,
                                     std::int64_t started_ms)
    : group_(std::move(group)),
      topic_(std::move(topic)),
      ns_(std::move(ns)),
      policy_(policy),
      writer_id_(std::move(writer_id)),
      destination_(destination),
      grace_ms_(grace_ms),
      next_window_(window_start(policy_, started_ms)) {}

int EmptyWindowWriter::run(pqxx::connection& connection, std::int64_t now_ms) {
  int written = 0;
  while (next_window_ + policy_.window_ms + grace_ms_ <= now_ms) {
    std::vector<std::int32_t> partitions;
    {
      pqxx::nontransaction tx(connection);
      for (const auto& row : tx.exec_params(
               "SELECT partition FROM consumer_offsets WHERE group_id = $1 AND topic = $2 "
               "ORDER BY partition",
               group_, topic_)) {
        partitions.push_back(row[0].as<std::int32_t>());
      }
    }
    for (const auto p : partitions) {
      if (write_one(connection, p, next_window_)) ++written;
    }
    next_window_ += policy_.window_ms;
  }
  return written;
}

bool EmptyWindowWriter::write_one(pqxx::connection& connection, std::int32_t p,
                                  std::int64_t window) {
  const std::string path = capture_path(ns_, topic_, p, window);
  // Never a name the after-commit cleanup takes for a superseded attempt
  // (those start with an offset): this file's only owner is this row.
  const std::string staged = topic_ + "/" + std::to_string(p) + "/empty-" +
                             std::to_string(window / 1000) + "-" + writer_id_ + ".avro";
  pqxx::work tx(connection);
  const auto offsets = tx.exec_params(
      "SELECT next_offset FROM consumer_offsets WHERE group_id = $1 AND topic = $2 "
      "AND partition = $3 FOR UPDATE",
      group_, topic_, p);
  if (offsets.empty()) return false;
  const bool has_file =
      tx.exec_params1(
            "SELECT EXISTS (SELECT 1 FROM archive_files WHERE group_id = $1 AND topic = $2 "
            "AND partition = $3 AND file_time >= to_timestamp($4::bigint / 1000.0) "
            "AND file_time < to_timestamp($5::bigint / 1000.0))",
            group_, topic_, p, window, window + policy_.window_ms)[0]
          .as<bool>();
  if (has_file) {
    tx.commit();
    return false;
  }
  WrittenFile file;
  {
    CaptureFileWriter writer(destination_, staged, p, policy_.block_bytes);
    file = writer.finish();
  }
  const std::int64_t from = offsets[0][0].is_null() ? 0 : offsets[0][0].as<std::int64_t>();
  destination_.prepare({{staged, path}});
  tx.exec_params(
      "INSERT INTO archive_files (group_id, topic, partition, path, staged, from_offset, "
      "records, bytes, sha256, file_time) "
      "VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, to_timestamp($9::bigint / 1000.0))",
      group_, topic_, p, path, staged, from, file.bytes, file.sha256, window);
  tx.commit();
  // Recorded: moving it is always right. If this fails, the partition's
  // next commit moves it (it moves every recorded file still staged).
  if (destination_.publish(staged, path) != Destination::Published::kMissing) {
    pqxx::work done(connection);
    done.exec_params("UPDATE archive_files SET published = true WHERE path = $1", path);
    done.commit();
  }
  return true;
}

}  // namespace millrace::archive::detail
