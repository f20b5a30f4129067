#pragma once
// migrate()'s waits for locks (database.cpp): for the advisory lock another
// migrate holds, and for a table's lock a migration's statement needs. Each
// is given way to and asked for again, said with who holds it, and ended by
// a stop (runtime::Stopped).

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "millrace/pg/database.hpp"
#include "millrace/runtime/slow_wait.hpp"

namespace millrace::pg::detail {

// PostgreSQL's lock_not_available: a statement waited lock_timeout.
inline constexpr const char* kLockNotAvailable = "55P03";

// "held by pid 123 (app, user, state, open 42 s) on t1, t2; ...": the
// sessions whose transactions, open longer than `longer_than`, hold locks
// on `schema`'s tables, or the advisory lock `advisory` names (the text
// hashed into its key, as pg_advisory_xact_lock(hashtext(text)) takes it;
// none if empty), the longest open first (three at most), or a sentence
// saying there is none now. For a statement's lock wait that timed out
// (55P03), told to the operator.
std::string lock_holders(pqxx::connection& connection, const std::string& schema,
                         std::chrono::milliseconds longer_than, const std::string& advisory = {});

// Caller contract: one per migrate(), on its connection, which it gives
// PostgreSQL's lock_timeout for its life and then the one it had.
class LockWaits {
 public:
  LockWaits(pqxx::connection& connection, std::string schema, const MigrateWaits& waits);
  ~LockWaits();
  LockWaits(const LockWaits&) = delete;
  LockWaits& operator=(const LockWaits&) = delete;

  // The session's advisory lock on the schema's migrations: while another
  // session holds it, waits for it in waits of the session's lock_timeout,
  // each a chance to stop.
  void take_migrate_lock();
  // Runs `step` (its own transactions, which a lock timeout rolls back)
  // until no statement of it gives way to a lock; `what` names it.
  void giving_way(const std::string& what, const std::function<void()>& step);

 private:
  using Clock = std::chrono::steady_clock;
  // Tells `text` at the first wait of `what`, then at most once a minute.
  void tell(const std::string& what, const std::function<std::string()>& text);
  void pause();
  std::string migrate_lock_holder();
  std::string lock_holders();

  pqxx::connection& connection_;
  std::string schema_;
  const MigrateWaits& waits_;
  std::string key_;  // the advisory lock's, hashed by the server
  std::optional<std::string> lock_timeout_before_;
  bool locked_ = false;
  std::string waiting_for_;
  Clock::time_point waiting_since_{};
  runtime::SlowWait told_{Clock::duration::zero(), Clock::duration::zero()};
};

}  // namespace millrace::pg::detail
