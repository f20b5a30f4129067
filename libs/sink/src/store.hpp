#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "millrace/sink/batch.hpp"

namespace millrace::sink::detail {

struct CommitResult {
  // Partitions whose stored offset another member moved: nothing committed.
  std::vector<std::int32_t> fenced;
  // Rows inserted per partition; kept - inserted were duplicates of stored ids.
  std::map<std::int32_t, std::uint64_t> inserted;
};

// The sink's PostgreSQL session: offsets, kept rows and accounting, always in
// one transaction. Any failure leaves the connection dropped; the caller
// reconnects and resumes from what PostgreSQL holds.
class EventStore {
 public:
  EventStore(std::string conninfo, std::string schema, std::string group, std::string topic);

  void ensure_connected();
  void disconnect() { conn_.reset(); }

  // Stored next offsets for these partitions (nullopt: none yet); creates
  // their rows so that later commits can fence on them.
  std::map<std::int32_t, std::optional<std::int64_t>> claim(
      const std::vector<std::int32_t>& partitions);

  // Writes the batch. Throws core::InfraError classified by pg::classify.
  CommitResult commit(const Batch& batch, const std::vector<OffsetTransition>& plan);

 private:
  std::string conninfo_;
  std::string schema_;
  std::string group_;
  std::string topic_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace millrace::sink::detail
