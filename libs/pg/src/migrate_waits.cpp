#include "migrate_waits.hpp"

#include <pqxx/pqxx>
#include <thread>
#include <utility>

#include "millrace/runtime/log.hpp"
#include "millrace/runtime/retry.hpp"

namespace millrace::pg::detail {

namespace {

constexpr auto kTellEvery = std::chrono::minutes(1);

std::string seconds_of(std::chrono::milliseconds ms) {
  const auto tenths = (ms.count() + 50) / 100;
  return std::to_string(tenths / 10) + (tenths % 10 != 0 ? "." + std::to_string(tenths % 10) : "") +
         " s";
}

// "pid 123 (app, user, idle in transaction, open 42 s)"
std::string session_of(const pqxx::row& r) {
  std::string out = "pid " + r[0].as<std::string>() + " (" + r[1].as<std::string>("?");
  for (int i = 2; i <= 3; ++i) {
    if (!r[i].is_null() && !r[i].as<std::string>().empty()) out += ", " + r[i].as<std::string>();
  }
  return out + ", open " + r[4].as<std::string>("?") + " s)";
}

// The rows of pg_locks that are the advisory lock
// pg_advisory_[xact_]lock(hashtext(<text>)) of this database, <text> the
// statement's parameter $`param`.
std::string advisory_lock_rows(int param) {
  const auto key = "hashtext($" + std::to_string(param) + ")::bigint";
  return "l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
         "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
         "AND l.classid::text::bigint = (" +
         key + " >> 32) & 4294967295 AND l.objid::text::bigint = " + key + " & 4294967295";
}

}  // namespace

LockWaits::LockWaits(pqxx::connection& connection, std::string schema, const MigrateWaits& waits)
    : connection_(connection),
      schema_(std::move(schema)),
      waits_(waits),
      key_("millrace.migrate." + schema_) {
  pqxx::nontransaction tx(connection_);
  lock_timeout_before_ = tx.exec1("SELECT current_setting('lock_timeout')")[0].as<std::string>();
  tx.exec_params("SELECT set_config('lock_timeout', $1, false)",
                 std::to_string(waits_.lock_timeout.count()) + "ms");
}

LockWaits::~LockWaits() {
  try {
    pqxx::nontransaction tx(connection_);
    if (locked_) tx.exec_params("SELECT pg_advisory_unlock(hashtext($1))", key_);
    if (lock_timeout_before_) {
      tx.exec_params("SELECT set_config('lock_timeout', $1, false)", *lock_timeout_before_);
    }
  } catch (const std::exception& e) {
    // The connection is lost: the server let the lock go with it.
    runtime::log_warn("migrate", std::string("releasing the migration lock: ") + e.what());
  }
}

void LockWaits::take_migrate_lock() {
  for (;;) {
    // Waited for in the server, so that it is taken as soon as the other
    // migrate lets go, each wait bounded by the session's lock_timeout: a
    // stop is heard between two.
    try {
      pqxx::nontransaction(connection_).exec_params("SELECT pg_advisory_lock(hashtext($1))", key_);
      locked_ = true;
      return;
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() != kLockNotAvailable) throw;
    }
    tell("the migration lock", [&] {
      return "schema " + schema_ + " is being migrated by another session (" +
             migrate_lock_holder() + "): waiting for it to finish";
    });
    if (waits_.pause && waits_.pause(std::chrono::milliseconds(0))) throw runtime::Stopped{};
  }
}

void LockWaits::giving_way(const std::string& what, const std::function<void()>& step) {
  for (;;) {
    try {
      step();
      return;
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() != kLockNotAvailable) throw;
    }
    tell(what, [&] {
      return what + " waited " + seconds_of(waits_.lock_timeout) +
             " for a lock and gave way, so that the sessions queued behind it do not wait: " +
             lock_holders() + "; trying again every " + seconds_of(waits_.retry);
    });
    pause();
  }
}

void LockWaits::tell(const std::string& what, const std::function<std::string()>& text) {
  const auto now = Clock::now();
  if (what != waiting_for_) {
    waiting_for_ = what;
    waiting_since_ = now;
    told_ = runtime::SlowWait(Clock::duration::zero(), kTellEvery);
  }
  if (!told_.due(now - waiting_since_)) return;
  if (waits_.tell) {
    waits_.tell(text());
  } else {
    runtime::log_warn("migrate", text());
  }
}

void LockWaits::pause() {
  if (waits_.pause) {
    if (waits_.pause(waits_.retry)) throw runtime::Stopped{};
  } else {
    std::this_thread::sleep_for(waits_.retry);
  }
}

std::string LockWaits::migrate_lock_holder() {
  pqxx::nontransaction tx(connection_);
  const auto rows = tx.exec_params(
      "SELECT a.pid, coalesce(nullif(a.application_name, ''), a.backend_type), a.usename, "
      "a.state, round(extract(epoch FROM now() - a.backend_start))::bigint "
      "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE " +
          advisory_lock_rows(1),
      key_);
  if (rows.empty()) return "it has just let go";
  return session_of(rows[0]);
}

std::string lock_holders(pqxx::connection& connection, const std::string& schema,
                         std::chrono::milliseconds longer_than, const std::string& advisory) {
  pqxx::nontransaction tx(connection);
  // The sessions whose transactions, open longer than the wait, hold locks
  // on the schema's tables, or the advisory lock named: the likely holders.
  const std::string session =
      "a.pid, coalesce(nullif(a.application_name, ''), a.backend_type), a.usename, a.state, "
      "round(extract(epoch FROM now() - a.xact_start))::bigint";
  const std::string open_long =
      "a.pid <> pg_backend_pid() AND a.xact_start < now() - "
      "make_interval(secs => $2)";
  const auto rows = tx.exec_params(
      "SELECT * FROM (SELECT " + session +
          ", string_agg(DISTINCT c.relname, ', ' ORDER BY c.relname) "
          "FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
          "JOIN pg_stat_activity a ON a.pid = l.pid "
          "WHERE l.granted AND l.locktype = 'relation' AND c.relnamespace = "
          "to_regnamespace(quote_ident($1)) AND " +
          open_long +
          " GROUP BY 1, 2, 3, 4, 5 "
          "UNION ALL SELECT " +
          session +
          ", 'the lock ' || $3 "
          "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
          "WHERE $3 <> '' AND " +
          open_long + " AND " + advisory_lock_rows(3) + ") h ORDER BY 5 DESC LIMIT 3",
      schema, static_cast<double>(longer_than.count()) / 1000.0, advisory);
  if (rows.empty()) {
    return "no session holds one of the schema's tables" +
           (advisory.empty() ? std::string() : " or the lock " + advisory) + " that long now";
  }
  std::string out = "held by ";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i > 0) out += "; ";
    out += session_of(rows[i]) + " on " + rows[i][5].as<std::string>();
  }
  return out;
}

std::string LockWaits::lock_holders() {
  return detail::lock_holders(connection_, schema_, waits_.lock_timeout);
}

}  // namespace millrace::pg::detail
