#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "millrace/stream/batch.hpp"
#include "millrace/stream/handler.hpp"

namespace millrace::stream::detail {

// A consumer's PostgreSQL session: offsets, the handler's rows and the
// accounting, always in one transaction. Any failure drops the connection;
// the caller reconnects and resumes from what PostgreSQL holds. Not
// thread-safe: one thread at a time (the consumer hands it between its loop
// thread and the commit of a batch).
class OffsetStore {
 public:
  OffsetStore(std::string conninfo, std::string schema, std::string group, std::string topic,
              std::string application_name, Handler& handler);

  void ensure_connected();
  void disconnect() { conn_.reset(); }

  // Stored next offsets for these partitions (nullopt: none yet); creates
  // their rows so that later commits can fence on them.
  std::map<std::int32_t, std::optional<std::int64_t>> claim(
      const std::vector<std::int32_t>& partitions);

  // Commits the batch with the rows its state buffered. Returns the
  // partitions whose offset another member moved (then nothing was
  // committed). Throws core::InfraError.
  std::vector<std::int32_t> commit(Batch& batch, BatchState& state,
                                   const std::vector<OffsetTransition>& plan);

 private:
  std::string conninfo_, schema_, group_, topic_, application_name_;
  Handler& handler_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace millrace::stream::detail
