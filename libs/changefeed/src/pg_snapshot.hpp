#pragma once

// The PostgreSQL side of the initial snapshot: a REPEATABLE READ
// transaction on the replication connection whose first command creates the
// slot with USE_SNAPSHOT, so the transaction reads the tables exactly as of
// the slot's consistent point. The catalog is read in the same transaction,
// so each table is described as it stood then.
//
// Caller contract: construct on a connection that has not started
// streaming and holds no transaction; call end() once every row is read,
// before starting to stream. The feed's role needs SELECT on the published
// tables (`millrace changefeed publish --grant-select ROLE`).

#include <map>
#include <string>

#include "millrace/changefeed/snapshot.hpp"
#include "millrace/pg/replication.hpp"

namespace millrace::changefeed {

class PgSnapshot final : public SnapshotSource {
 public:
  // Creates `slot` (which must not exist). Throws core::InfraError.
  PgSnapshot(pg::ReplicationConnection& conn, const std::string& slot,
             const std::string& publication);

  Lsn consistent_point() const override { return consistent_point_; }
  std::int64_t taken_at_pg_us() const override { return taken_at_pg_us_; }
  std::vector<std::shared_ptr<const Relation>> tables() override;
  void rows(const Relation& table, const std::function<void(Tuple&&)>& on_row) override;

  // Ends the snapshot's transaction.
  void end();

 private:
  pg::ReplicationConnection& conn_;
  std::string publication_;
  Lsn consistent_point_ = 0;
  std::int64_t taken_at_pg_us_ = 0;
  std::map<Oid, std::string> row_filters_;  // the publication's WHERE, per table
};

}  // namespace millrace::changefeed
