#include "batch_committer.hpp"

#include <cctype>
#include <set>

#include "isolation.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/pg/array.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/pg/schema_setup.hpp"
#include "millrace/runtime/log.hpp"

namespace millrace::stream::detail {

using core::FailureClass;
using core::InfraError;

namespace {

constexpr const char* kSavepoint = "millrace_isolate";

// What write() threw, if PostgreSQL refused the data itself.
std::optional<DbError> data_refusal(const std::exception& e) {
  const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
  if (sql == nullptr || !refuses_data(sql->sqlstate())) return std::nullopt;
  std::string message = sql->what();
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return DbError{sql->sqlstate(), message};
}

}  // namespace

BatchCommitter::BatchCommitter(std::string conninfo, std::string schema, std::string group,
                               std::string topic, std::string application_name,
                               pg::SessionLimits limits, bool tolerate_refusals,
                               bool require_migrated, Handler& handler)
    : conninfo_(std::move(conninfo)),
      schema_(std::move(schema)),
      group_(std::move(group)),
      topic_(std::move(topic)),
      application_name_(std::move(application_name)),
      limits_(limits),
      tolerate_refusals_(tolerate_refusals),
      require_migrated_(require_migrated),
      handler_(handler),
      begins_(dynamic_cast<BeginsWithTransaction*>(&handler)) {}

bool BatchCommitter::prepare_schema(const std::function<bool(std::chrono::milliseconds)>& pause) {
  pg::PgOptions pg;
  pg.url = conninfo_;
  pg.schema = schema_;
  pg.limits = limits_;
  return pg::prepare_schema(pg, application_name_, !require_migrated_, pause);
}

void BatchCommitter::ensure_connected() {
  if (conn_ && conn_->is_open()) return;
  conn_.reset();
  auto conn = pg::connect(conninfo_, schema_, application_name_, limits_);
  // Another step migrates (Kubernetes' millrace-migrate Job, compose's
  // migrate): wait for it rather than fail on a missing table.
  if (require_migrated_) pg::require_migrated(*conn, schema_);
  try {
    handler_.on_connect(*conn);
  } catch (const std::exception&) {
    pg::rethrow_classified("prepare session");
  }
  conn_ = std::move(conn);
}

void BatchCommitter::register_group(const std::string& service) {
  ensure_connected();
  std::string registered;
  try {
    pqxx::work tx(*conn_);
    tx.exec_params(
        "INSERT INTO consumer_groups (group_id, kind) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        group_, service);
    registered = tx.exec_params1("SELECT kind FROM consumer_groups WHERE group_id = $1", group_)[0]
                     .as<std::string>();
    tx.commit();
  } catch (const std::exception&) {
    conn_.reset();
    pg::rethrow_classified("register consumer group");
  }
  if (registered != service) {
    std::string mine = "MILLRACE_" + service + "_GROUP";
    for (auto& c : mine) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    throw InfraError(FailureClass::kFatal,
                     "consumer group " + group_ + " belongs to millrace-" + registered +
                         " (table consumer_groups in schema " + schema_ +
                         "); sharing it, the two would split the records between them. Give "
                         "this millrace-" +
                         service + " its own group with " + mine);
  }
}

std::map<std::int32_t, std::optional<std::int64_t>> BatchCommitter::claim(
    const std::vector<std::int32_t>& partitions) {
  ensure_connected();
  std::map<std::int32_t, std::optional<std::int64_t>> out;
  try {
    pqxx::work tx(*conn_);
    for (const auto p : partitions) {
      tx.exec_params(
          "INSERT INTO consumer_offsets (group_id, topic, partition) VALUES ($1, $2, $3) "
          "ON CONFLICT DO NOTHING",
          group_, topic_, p);
      const auto row = tx.exec_params1(
          "SELECT next_offset FROM consumer_offsets "
          "WHERE group_id = $1 AND topic = $2 AND partition = $3",
          group_, topic_, p);
      out[p] =
          row[0].is_null() ? std::nullopt : std::optional<std::int64_t>(row[0].as<std::int64_t>());
    }
    tx.commit();
  } catch (const pqxx::sql_error& e) {
    // lock_not_available: another session holds these offset rows.
    if (e.sqlstate() == "55P03") end_stuck_sessions();
    conn_.reset();
    pg::rethrow_classified("read stored offsets");
  } catch (const std::exception&) {
    conn_.reset();
    pg::rethrow_classified("read stored offsets");
  }
  return out;
}

// A member frozen (SIGSTOP, a suspended VM) in the middle of a COPY holds its
// transaction's row locks without bound: PostgreSQL applies neither
// idle_in_transaction_session_timeout (the session is active, waiting for
// the rest of the COPY) nor statement_timeout (a cancel waits for the
// client's next message), and TCP keepalives succeed (the peer's kernel
// answers them). Its offset rows would block every later claim. So when a
// claim waited past lock_timeout, the sessions of this service that hold
// consumer_offsets locks and have waited on their client longer than the
// idle-in-transaction bound are ended, as PostgreSQL ends idle ones: their
// transactions roll back, and such a member, should it wake, reconnects and
// resumes from the stored offsets. Best effort: the claim is retried anyway.
void BatchCommitter::end_stuck_sessions() {
  if (limits_.idle_in_transaction_timeout_ms <= 0 || !conn_) return;
  try {
    pqxx::nontransaction tx(*conn_);
    for (const auto& row :
         tx.exec_params("SELECT a.pid, pg_terminate_backend(a.pid), "
                        "round(extract(epoch FROM now() - a.state_change))::bigint "
                        "FROM pg_stat_activity a WHERE a.pid <> pg_backend_pid() "
                        "AND a.datname = current_database() AND a.application_name = $1 "
                        "AND a.state = 'active' AND a.wait_event_type = 'Client' "
                        "AND a.state_change < now() - make_interval(secs => $2) "
                        "AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid "
                        "AND l.relation = 'consumer_offsets'::regclass)",
                        application_name_,
                        static_cast<double>(limits_.idle_in_transaction_timeout_ms) / 1000)) {
      runtime::log_warn(application_name_,
                        "ended PostgreSQL session " + row[0].as<std::string>() +
                            " of another member: it held the offset rows while waiting " +
                            row[2].as<std::string>() +
                            " s for its client in the middle of a statement (a frozen member)");
    }
  } catch (const std::exception& e) {
    runtime::log_warn(application_name_, std::string("looking for stuck sessions: ") + e.what());
  }
}

std::vector<std::int32_t> BatchCommitter::fence(pqxx::work& tx, const Batch& batch,
                                                const std::vector<OffsetTransition>& plan) {
  if (plan.empty()) return {};
  // Every partition of the plan in one statement, not one each: a batch's
  // round trips are its latency on a busy machine (a webhooks batch spans
  // three or four partitions). Prepared (defined again, unchanged, on every
  // call: libpqxx keeps it per session), so that PostgreSQL does not plan it
  // for every batch. -1 stands for no stored offset (NULL).
  constexpr const char* kFence = "millrace_fence";
  tx.conn().prepare(kFence,
                    "UPDATE consumer_offsets c SET next_offset = u.next, "
                    "records_consumed = c.records_consumed + u.consumed, updated_at = now() "
                    "FROM unnest($1::integer[], $2::bigint[], $3::bigint[], $4::bigint[]) "
                    "AS u(partition, next, consumed, expected) "
                    "WHERE c.group_id = $5 AND c.topic = $6 AND c.partition = u.partition "
                    "AND c.next_offset IS NOT DISTINCT FROM NULLIF(u.expected, -1) "
                    "RETURNING c.partition");
  pg::ArrayLiteral partitions, nexts, consumed, expected;
  for (const auto& t : plan) {
    partitions.add(t.partition);
    nexts.add(t.next);
    consumed.add(static_cast<std::int64_t>(batch.partitions().at(t.partition).consumed));
    expected.add(t.expected.value_or(-1));
  }
  std::set<std::int32_t> moved;
  for (const auto& row : tx.exec_prepared(kFence, partitions.take(), nexts.take(), consumed.take(),
                                          expected.take(), group_, topic_)) {
    moved.insert(row[0].as<std::int32_t>());
  }
  std::vector<std::int32_t> fenced;
  for (const auto& t : plan) {
    if (!moved.contains(t.partition)) fenced.push_back(t.partition);
  }
  return fenced;
}

void BatchCommitter::account(pqxx::work& tx, const Batch& batch) {
  // One multi-row upsert, summed into the lifetime totals; prepared, as the
  // fence is, so that PostgreSQL does not plan it for every batch.
  constexpr const char* kAccount = "millrace_account";
  pg::ArrayLiteral partitions, outcomes, reasons, counts;
  bool any = false;
  for (const auto& [partition, progress] : batch.partitions()) {
    for (const auto& [key, n] : progress.tally.counts()) {
      partitions.add(partition);
      outcomes.add(core::outcome_code(key.first));
      reasons.add(key.second);
      counts.add(static_cast<std::int64_t>(n));
      any = true;
    }
  }
  if (!any) return;
  tx.conn().prepare(kAccount,
                    "INSERT INTO record_outcomes (group_id, topic, partition, outcome, reason, "
                    "records) SELECT $1, $2, u.* FROM unnest($3::integer[], $4::text[], "
                    "$5::text[], $6::bigint[]) AS u "
                    "ON CONFLICT (group_id, topic, partition, outcome, reason) "
                    "DO UPDATE SET records = record_outcomes.records + EXCLUDED.records");
  tx.exec_prepared(kAccount, group_, topic_, partitions.take(), outcomes.take(), reasons.take(),
                   counts.take());
}

std::string BatchCommitter::describe(const Refusal& r) const {
  return topic_ + "[" + std::to_string(r.record.partition) + "]@" +
         std::to_string(r.record.offset) + " (SQLSTATE " + r.sqlstate + ": " + r.message + ")";
}

CommitResult BatchCommitter::commit(Batch& batch, BatchState& state,
                                    const std::vector<OffsetTransition>& plan) {
  ensure_connected();
  CommitResult result;
  try {
    // Each pass either commits, or finds records PostgreSQL refuses, rolls
    // back, has the handler take them out and tries again. A second pass
    // finds refusals only if the data changed meanwhile (another member's
    // rows); every pass takes at least one record out, so this ends.
    // The first pass writes without a savepoint (two round trips fewer on
    // every batch): a refusal there rolls the whole transaction back, and
    // the pass after it, with the savepoint, finds the refused records.
    bool isolating = false;
    for (;;) {
      pqxx::work tx(*conn_);
      if (begins_ != nullptr) begins_->began(state);
      // Fence first: if another member moved an offset, stop before any work.
      result.fenced = fence(tx, batch, plan);
      if (!result.fenced.empty()) {
        tx.abort();
        return result;
      }

      std::optional<DbError> refused_whole;
      const Batch before = batch;  // the tallies write() may move
      if (isolating) tx.exec(std::string("SAVEPOINT ") + kSavepoint);
      try {
        handler_.write(tx, batch, state);
        if (isolating) tx.exec(std::string("RELEASE SAVEPOINT ") + kSavepoint);
      } catch (const std::exception& e) {
        refused_whole = data_refusal(e);
        if (!refused_whole) throw;
      }
      if (refused_whole && !isolating) {
        tx.abort();
        batch = before;
        isolating = true;
        continue;
      }
      if (!refused_whole) {
        account(tx, batch);
        tx.commit();
        return result;
      }

      // Find the refused records, each slice in a savepoint of its own
      // inside the first one; what the probes wrote is thrown away with
      // the transaction, and so are the tallies they moved.
      tx.exec(std::string("ROLLBACK TO SAVEPOINT ") + kSavepoint);
      batch = before;
      Batch probe = batch;
      const auto found =
          isolate_refused(state.size(), *refused_whole, [&](std::size_t begin, std::size_t end) {
            const auto slice = state.slice(begin, end);
            const Batch kept = probe;
            tx.exec("SAVEPOINT millrace_probe");
            try {
              handler_.write(tx, probe, *slice);
              tx.exec("RELEASE SAVEPOINT millrace_probe");
              return std::optional<DbError>();
            } catch (const std::exception& e) {
              auto refused = data_refusal(e);
              if (!refused) throw;
              tx.exec("ROLLBACK TO SAVEPOINT millrace_probe");
              probe = kept;
              return refused;
            }
          });
      tx.abort();
      if (found.empty()) {
        throw InfraError(
            FailureClass::kFatal,
            "PostgreSQL refused a batch with no rows to set aside: " + refused_whole->message);
      }
      std::vector<Refusal> refusals;
      for (const auto& [index, error] : found) {
        refusals.push_back({state.record(index), error.sqlstate, error.message});
      }
      if (!tolerate_refusals_) {
        throw InfraError(FailureClass::kFatal,
                         "PostgreSQL refused record " + describe(refusals.front()) +
                             "; MILLRACE_ERRORS_TOLERANCE=none stops here (all: set such "
                             "records aside and go on)");
      }
      handler_.refuse(batch, state, refusals);
      handler_.before_commit(state);
      result.refused.insert(result.refused.end(), refusals.begin(), refusals.end());
    }
  } catch (const std::exception&) {
    conn_.reset();
    pg::rethrow_classified("commit batch");
  }
}

bool BatchCommitter::record_gap(std::int32_t partition, std::int64_t from, std::int64_t to) {
  ensure_connected();
  try {
    pqxx::work tx(*conn_);
    const auto r = tx.exec_params(
        "UPDATE consumer_offsets SET next_offset = $1, updated_at = now() "
        "WHERE group_id = $2 AND topic = $3 AND partition = $4 AND next_offset = $5",
        to, group_, topic_, partition, from);
    if (r.affected_rows() != 1) {
      tx.abort();
      return false;
    }
    tx.exec_params(
        "INSERT INTO offset_gaps (group_id, topic, partition, from_offset, to_offset, reason) "
        "VALUES ($1, $2, $3, $4, $5, 'retention')",
        group_, topic_, partition, from, to);
    tx.exec_params(
        "INSERT INTO record_outcomes (group_id, topic, partition, outcome, reason, records) "
        "VALUES ($1, $2, $3, 'lost', 'retention', $4) "
        "ON CONFLICT (group_id, topic, partition, outcome, reason) "
        "DO UPDATE SET records = record_outcomes.records + EXCLUDED.records",
        group_, topic_, partition, to - from);
    tx.commit();
    return true;
  } catch (const std::exception&) {
    conn_.reset();
    pg::rethrow_classified("record offset gap");
  }
}

}  // namespace millrace::stream::detail
