#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "millrace/pg/database.hpp"
#include "millrace/stream/batch.hpp"
#include "millrace/stream/handler.hpp"
#include "ports.hpp"

namespace millrace::stream::detail {

// A consumer's PostgreSQL session, which commits whole batches: fenced
// offsets, the handler's rows and the accounting, always in one transaction. Any failure drops the
// connection; the caller reconnects and resumes from what PostgreSQL holds. Not thread-safe: one
// thread at a time (the consumer hands it between its loop thread and the commit of a batch).
class BatchCommitter final : public CommitPort {
 public:
  // `require_migrated`: the service does not migrate (MILLRACE_MIGRATE=false),
  // so each new session first waits for the schema's migrations
  // (pg::require_migrated, retryable) instead of failing on a missing table.
  BatchCommitter(std::string conninfo, std::string schema, std::string group, std::string topic,
                 std::string application_name, pg::SessionLimits limits, bool tolerate_refusals,
                 bool require_migrated, Handler& handler);

  bool prepare_schema(const std::function<bool(std::chrono::milliseconds)>& pause) override;
  void ensure_connected() override;
  void disconnect() override { conn_.reset(); }

  // Records that `kind` ("sink", "aggregator") consumes with this group, or
  // throws core::InfraError (fatal) if the other kind registered it first:
  // sharing a group, the two would split the records between them.
  void register_group(const std::string& service) override;

  // Stored next offsets for these partitions (nullopt: none yet); creates
  // their rows so that later commits can fence on them.
  std::map<std::int32_t, std::optional<std::int64_t>> claim(
      const std::vector<std::int32_t>& partitions) override;

  // Commits the batch with the rows its state buffered. When PostgreSQL
  // refuses the rows (SQLSTATE class 22, 23 or 54), finds the records it
  // refuses (isolation.hpp), has the handler set them aside and commits the
  // rest; with refusals not tolerated, throws core::InfraError (fatal)
  // naming the first instead. Throws core::InfraError.
  CommitResult commit(Batch& batch, BatchState& state,
                      const std::vector<OffsetTransition>& plan) override;

  // Retention passed the stored offset: moves it from `from` to `to` and
  // counts the range as outcome "lost" (reason "retention") with a row in
  // offset_gaps, fenced like a commit. Returns false if another member
  // moved the offset first (nothing recorded). Throws core::InfraError.
  bool record_gap(std::int32_t partition, std::int64_t from, std::int64_t to) override;

 private:
  // Fences the plan's offsets in `tx`; returns the partitions fenced off.
  std::vector<std::int32_t> fence(pqxx::work& tx, const Batch& batch,
                                  const std::vector<OffsetTransition>& plan);
  void account(pqxx::work& tx, const Batch& batch);
  std::string describe(const Refusal& r) const;
  // Ends this service's sessions that hold consumer_offsets locks while
  // stuck mid-statement on their client; see the definition.
  void end_stuck_sessions();

  std::string conninfo_, schema_, group_, topic_, application_name_;
  pg::SessionLimits limits_;
  bool tolerate_refusals_;
  bool require_migrated_;
  Handler& handler_;
  BeginsWithTransaction* begins_;  // the handler's, if it has the capability
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace millrace::stream::detail
