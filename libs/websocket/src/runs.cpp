#include "runs.hpp"

#include <optional>

#include "millrace/core/timestamp.hpp"
#include "millrace/pg/database.hpp"

namespace millrace::websocket::detail {

namespace {

std::optional<std::string> timestamp(const std::optional<std::int64_t>& us) {
  if (!us) return std::nullopt;
  return core::format_timestamp(*us);
}

std::optional<std::string> text(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

}  // namespace

pqxx::connection& PgRunStore::connection() {
  if (!connection_ || !connection_->is_open()) {
    connection_ = pg::connect(options_.url, options_.schema, "millrace-websocket", options_.limits);
    pg::require_migrated(*connection_, options_.schema);
  }
  return *connection_;
}

// Runs `work` in a transaction; any failure drops the connection (the next
// call makes a new one) and is thrown classified.
template <typename Work>
void PgRunStore::transaction(const std::string& what, Work work) {
  try {
    pqxx::work tx(connection());
    work(tx);
    tx.commit();
  } catch (const core::InfraError&) {
    connection_.reset();
    throw;
  } catch (const std::exception&) {
    connection_.reset();
    pg::rethrow_classified(what);
  }
}

void PgRunStore::end_open_runs(const std::string& source) {
  transaction("ending the runs left open", [&](pqxx::work& tx) {
    tx.exec_params(
        "UPDATE ingestion_runs SET ended_at = updated_at, end_reason = 'interrupted' "
        "WHERE source = $1 AND ended_at IS NULL",
        source);
    tx.exec_params(
        "UPDATE ingestion_gaps g SET ended_at = r.ended_at FROM ingestion_runs r "
        "WHERE g.run_id = r.run_id AND r.source = $1 AND g.ended_at IS NULL",
        source);
  });
}

void PgRunStore::write(const RunState& run) {
  transaction("writing run " + run.run_id, [&](pqxx::work& tx) {
    tx.exec_params(
        "INSERT INTO ingestion_runs (run_id, source, feed, url, topic, started_at, ended_at, "
        "end_reason, received, produced, refused, control, lost, records, reconnections, "
        "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
        "now()) ON CONFLICT (run_id) DO UPDATE SET ended_at = EXCLUDED.ended_at, "
        "end_reason = EXCLUDED.end_reason, received = EXCLUDED.received, "
        "produced = EXCLUDED.produced, refused = EXCLUDED.refused, control = EXCLUDED.control, "
        "lost = EXCLUDED.lost, records = EXCLUDED.records, "
        "reconnections = EXCLUDED.reconnections, updated_at = now()",
        run.run_id, run.source, run.feed, run.url, run.topic,
        core::format_timestamp(run.started_us), timestamp(run.ended_us), text(run.end_reason),
        static_cast<std::int64_t>(run.received), static_cast<std::int64_t>(run.produced),
        static_cast<std::int64_t>(run.refused), static_cast<std::int64_t>(run.control),
        static_cast<std::int64_t>(run.lost), static_cast<std::int64_t>(run.records),
        static_cast<std::int64_t>(run.reconnections));
    for (const auto& g : run.gaps) {
      if (!g.dirty) continue;
      tx.exec_params(
          "INSERT INTO ingestion_gaps (run_id, gap_no, started_at, ended_at, reason) "
          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run_id, gap_no) DO UPDATE SET "
          "ended_at = EXCLUDED.ended_at, reason = EXCLUDED.reason",
          run.run_id, g.number, core::format_timestamp(g.started_us), timestamp(g.ended_us),
          g.reason);
    }
  });
}

}  // namespace millrace::websocket::detail
