#pragma once

// The runs' rows in PostgreSQL (ingestion_runs, ingestion_gaps: migration
// 0019), written by the source's own role.

#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "millrace/pg/options.hpp"
#include "millrace/websocket/source.hpp"

namespace millrace::websocket::detail {

// Caller contract: one thread. A lost connection is made again at the next
// call; every failure is a core::InfraError, classified (pg::classify).
class PgRunStore final : public RunStore {
 public:
  explicit PgRunStore(pg::PgOptions options) : options_(std::move(options)) {}
  void end_open_runs(const std::string& source) override;
  void write(const RunState& run) override;

 private:
  pqxx::connection& connection();
  template <typename Work>
  void transaction(const std::string& what, Work work);

  pg::PgOptions options_;
  std::unique_ptr<pqxx::connection> connection_;
};

}  // namespace millrace::websocket::detail
