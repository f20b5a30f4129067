#include "millrace/pg/database.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <pqxx/errorhandler>
#include <string>
#include <utility>
#include <vector>

#include "migrate_waits.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/pg/array.hpp"
#include "millrace/pg/kind_tables.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/registry.hpp"

namespace millrace::pg {

using core::FailureClass;
using core::InfraError;

std::string bounded_conninfo(const std::string& conninfo, const SessionLimits& limits) {
  const bool uri = conninfo.starts_with("postgresql://") || conninfo.starts_with("postgres://");
  std::vector<std::pair<std::string, std::string>> params;
  if (limits.connect_timeout_s > 0) {
    params.emplace_back("connect_timeout", std::to_string(limits.connect_timeout_s));
  }
  if (limits.tcp_user_timeout_ms > 0) {
    params.emplace_back("tcp_user_timeout", std::to_string(limits.tcp_user_timeout_ms));
    // Probes start after a third of the bound and give up within it.
    const auto idle_s = std::max<std::int64_t>(1, limits.tcp_user_timeout_ms / 3000);
    params.emplace_back("keepalives", "1");
    params.emplace_back("keepalives_idle", std::to_string(idle_s));
    params.emplace_back("keepalives_interval", std::to_string(idle_s));
    params.emplace_back("keepalives_count", "2");
  }
  std::string out = conninfo;
  bool query = uri && conninfo.find('?') != std::string::npos;
  for (const auto& [key, value] : params) {
    // A parameter the operator set stays theirs. Names are matched as a
    // whole word followed by '=' (so "keepalives" does not match
    // "keepalives_idle").
    bool present = false;
    for (auto at = conninfo.find(key + "="); at != std::string::npos;
         at = conninfo.find(key + "=", at + 1)) {
      const char before = at == 0 ? ' ' : conninfo[at - 1];
      if (before == ' ' || before == '?' || before == '&') present = true;
    }
    if (present) continue;
    if (uri) {
      out += query ? '&' : '?';
      query = true;
    } else {
      out += ' ';
    }
    out += key + "=" + value;
  }
  return out;
}

std::unique_ptr<pqxx::connection> connect(const std::string& conninfo, const std::string& schema,
                                          std::string_view application_name,
                                          const SessionLimits& limits, SchemaSetup setup) {
  try {
    auto conn = std::make_unique<pqxx::connection>(bounded_conninfo(conninfo, limits));
    {
      pqxx::nontransaction tx(*conn);
      const auto set_ms = [&](const char* name, std::int64_t ms) {
        if (ms > 0) tx.exec(std::string("SET ") + name + " = " + std::to_string(ms));
      };
      set_ms("statement_timeout", limits.statement_timeout_ms);
      set_ms("lock_timeout", limits.lock_timeout_ms);
      set_ms("idle_in_transaction_session_timeout", limits.idle_in_transaction_timeout_ms);
    }
    if (setup == SchemaSetup::kCreateIfMissing) {
      // CREATE SCHEMA IF NOT EXISTS races with itself (a unique violation
      // on pg_namespace) when workers start together; the lock serialises it.
      pqxx::work tx(*conn);
      tx.exec("SELECT pg_advisory_xact_lock(hashtext(" + tx.quote("millrace.schema." + schema) +
              "))");
      // Only when it is missing: PostgreSQL checks CREATE on the database
      // before it looks whether the schema exists, and an owner the DBA gave
      // the schema (CREATE SCHEMA ... AUTHORIZATION) has no such privilege.
      if (tx.exec_params("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema).empty()) {
        tx.exec("CREATE SCHEMA " + tx.quote_name(schema));
      }
      tx.commit();
    }
    pqxx::nontransaction tx(*conn);
    tx.exec("SET application_name = " + tx.quote(std::string(application_name)));
    tx.exec("SET search_path TO " + tx.quote_name(schema));
    // Windows are UTC days and hours; timestamps print the same everywhere.
    tx.exec("SET TIME ZONE 'UTC'");
    return conn;
  } catch (const pqxx::broken_connection& e) {
    // libpq reports bad passwords, and servers it cannot verify (TLS), as a
    // failed connection too; they will not heal by retrying, and looping on
    // them would hide the real problem.
    const std::string what = e.what();
    const auto says = [&](const char* text) { return what.find(text) != std::string::npos; };
    const bool permanent = says("authentication") || says("password") || says("does not exist") ||
                           says("certificate verify failed") || says("does not match host name") ||
                           says("root certificate") || says("SSL was required") ||
                           says("server certificate");
    throw InfraError(permanent ? FailureClass::kFatal : FailureClass::kRetryable,
                     "postgresql connect: " + what);
  } catch (const std::exception&) {
    rethrow_classified("postgresql connect");
  }
}

FailureClass classify_sqlstate(std::string_view state) {
  const std::string_view cls = state.substr(0, 2);
  if (cls == "08" || cls == "57" || cls == "53" || cls == "58" || state == "40001" ||
      state == "40P01" || state == "55P03") {
    return FailureClass::kRetryable;
  }
  // An empty SQLSTATE means libpq lost the connection mid-statement.
  if (state.empty()) return FailureClass::kRetryable;
  if (cls == "22" || cls == "23" || cls == "54") return FailureClass::kPoison;
  return FailureClass::kFatal;
}

FailureClass classify(const std::exception& error) {
  if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr ||
      dynamic_cast<const pqxx::in_doubt_error*>(&error) != nullptr) {
    return FailureClass::kRetryable;
  }
  // libpqxx 6.4 throws insufficient_privilege without its SQLSTATE (42501),
  // and an empty SQLSTATE reads as a lost connection: its type says fatal.
  if (dynamic_cast<const pqxx::insufficient_privilege*>(&error) != nullptr) {
    return FailureClass::kFatal;
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
    return classify_sqlstate(sql->sqlstate());
  }
  if (const auto* infra = dynamic_cast<const InfraError*>(&error)) return infra->failure_class();
  return FailureClass::kFatal;
}

void rethrow_classified(std::string_view context) {
  try {
    throw;
  } catch (const InfraError&) {
    throw;
  } catch (const std::exception& e) {
    throw InfraError(classify(e), std::string(context) + ": " + e.what());
  }
}

namespace {

std::string checksum(std::string_view sql) {
  // FNV-1a: enough to notice an edited migration, not a security boundary.
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : sql) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

namespace {

class MigrationNotices final : public pqxx::errorhandler {
 public:
  MigrationNotices(pqxx::connection& connection, int version)
      : pqxx::errorhandler(connection), version_(version) {}
  bool operator()(const char message[]) noexcept override {
    std::string_view text(message);
    if (text.rfind("NOTICE:", 0) == 0) text.remove_prefix(7);
    while (!text.empty() && (text.front() == ' ')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    runtime::log_info("migrate",
                      "migration " + std::to_string(version_) + ": " + std::string(text));
    return true;
  }

 private:
  int version_;
};

}  // namespace

namespace {

// The consumer-group kinds of services/registry.json (migration 0014): every
// migrate records them, so a service added to the registry needs no
// migration to be allowed a group.
ArrayLiteral group_kinds() {
  ArrayLiteral kinds;
  for (const auto& s : runtime::services()) {
    if (s.consumer_group) kinds.add(s.name);
  }
  return kinds;
}

void record_group_kinds(pqxx::connection& connection) {
  auto kinds = group_kinds();
  pqxx::work tx(connection);
  tx.exec_params(
      "INSERT INTO consumer_group_kinds (kind) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
      kinds.take());
  tx.commit();
}

}  // namespace

SchemaStatus schema_status(pqxx::connection& connection, const std::string& schema) {
  const auto needed = migrations();
  const std::string needs =
      " of the " + std::to_string(needed.size()) + " migrations this build needs";
  SchemaStatus status;
  std::vector<std::pair<int, std::string>> applied;  // version, checksum
  bool missing_kinds = false;
  try {
    pqxx::read_transaction tx(connection);
    // Named with the schema, not through the search_path: PostgreSQL leaves
    // a schema the role may not use out of the path without a word.
    const auto row = tx.exec_params1(
        "SELECT n.oid IS NOT NULL, n.oid IS NULL OR has_schema_privilege(n.oid, 'USAGE'),"
        " CASE WHEN n.oid IS NOT NULL AND has_schema_privilege(n.oid, 'USAGE')"
        " THEN to_regclass(format('%I.schema_migrations', $1)) END"
        " FROM (SELECT 1) one LEFT JOIN pg_namespace n ON n.nspname = $1",
        schema);
    if (!row[0].as<bool>()) {
      status.detail = "schema " + schema + " has 0" + needs + " (it does not exist yet)";
      return status;
    }
    if (!row[1].as<bool>()) {
      status.no_usage = true;
      status.detail = "schema " + schema + ": this role may not use it (no USAGE), so it cannot " +
                      "read how far it is migrated; `millrace grant` gives it that";
      return status;
    }
    if (!row[2].is_null()) {
      const std::string table = tx.quote_name(schema) + ".schema_migrations";
      // A role granted before it could read the versions (a `millrace
      // grant` older than this check) is not held up: its first statement
      // on a missing table fails as it always did.
      if (!tx.exec1("SELECT has_table_privilege(" + tx.quote(table) + ", 'SELECT')")[0]
               .as<bool>()) {
        status.current = true;
        return status;
      }
      for (const auto& r : tx.exec("SELECT version, checksum FROM " + table)) {
        applied.emplace_back(r[0].as<int>(), r[1].as<std::string>());
      }
      // A service added to the registry comes without a migration: its
      // group kind is recorded by migrate() alone, which a schema at this
      // version would otherwise never see again. Checked where the role may
      // read it (the owner, who would record it).
      const std::string group_table = tx.quote_name(schema) + ".consumer_group_kinds";
      auto kinds = group_kinds();
      const auto wanted = kinds.size();
      const auto row_kinds = tx.exec_params1(
          "SELECT CASE WHEN to_regclass($1) IS NULL THEN false"
          " ELSE has_table_privilege(to_regclass($1)::oid, 'SELECT') END",
          group_table);
      if (row_kinds[0].as<bool>() &&
          tx.exec_params1("SELECT count(*) FROM " + group_table + " WHERE kind = ANY($1::text[])",
                          kinds.take())[0]
                  .as<std::size_t>() < wanted) {
        missing_kinds = true;
      }
    }
  } catch (const std::exception&) {
    rethrow_classified("read the migrations of schema " + schema);
  }
  int known_max = 0;
  for (const auto& m : needed) known_max = std::max(known_max, m.version);
  std::size_t have = 0;
  for (const auto& [version, sum] : applied) {
    if (version > known_max) {
      throw InfraError(FailureClass::kFatal,
                       "schema " + schema + " is at migration " + std::to_string(version) +
                           " but this build knows only up to " + std::to_string(known_max) +
                           ": run a newer Millrace");
    }
    for (const auto& m : needed) {
      if (m.version != version) continue;
      if (sum != checksum(m.sql)) {
        throw InfraError(FailureClass::kFatal,
                         "migration " + std::to_string(m.version) + " (" + std::string(m.name) +
                             ") changed after it was applied to schema " + schema);
      }
      ++have;
    }
  }
  status.current = have == needed.size() && !missing_kinds;
  if (have < needed.size()) {
    status.detail = "schema " + schema + " has " + std::to_string(have) + needs;
  } else if (missing_kinds) {
    status.detail = "schema " + schema + " lacks a consumer-group kind of this build's services";
  }
  return status;
}

void require_migrated(pqxx::connection& connection, const std::string& schema) {
  const auto status = schema_status(connection, schema);
  if (!status.current) {
    throw InfraError(FailureClass::kRetryable,
                     status.detail + ": waiting for `millrace migrate` by the schema's owner");
  }
}

namespace {

// migrate() and migrate_list(): `after` runs under the same lock.
int apply(pqxx::connection& connection, const std::string& schema, std::span<const Migration> list,
          const MigrateWaits& waits, const std::function<void(detail::LockWaits&)>& after) {
  try {
    // Released, and the lock_timeout restored, however it ends (a stop
    // too, which is not a std::exception).
    detail::LockWaits locks(connection, schema, waits);
    // Session-level lock keyed by schema: concurrent starters queue here.
    locks.take_migrate_lock();
    pqxx::result applied;
    locks.giving_way("reading schema " + schema + "'s migrations", [&] {
      pqxx::nontransaction setup(connection);
      setup.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
          " applied_at timestamptz NOT NULL DEFAULT now())");
      applied = setup.exec("SELECT version, name, checksum FROM schema_migrations");
    });
    int known_max = 0;
    for (const auto& m : list) known_max = std::max(known_max, m.version);
    for (const auto& row : applied) {
      if (row[0].as<int>() > known_max) {
        throw InfraError(FailureClass::kFatal,
                         "schema " + schema + " is at migration " + row[0].c_str() +
                             " but this build knows only up to " + std::to_string(known_max) +
                             ": run a newer Millrace");
      }
    }
    int count = 0;
    for (const auto& m : list) {
      const std::string sum = checksum(m.sql);
      bool done = false;
      for (const auto& row : applied) {
        if (row[0].as<int>() != m.version) continue;
        if (row[2].as<std::string>() != sum) {
          throw InfraError(FailureClass::kFatal,
                           "migration " + std::to_string(m.version) + " (" + std::string(m.name) +
                               ") changed after it was applied to schema " + schema);
        }
        done = true;
      }
      if (done) continue;
      locks.giving_way(
          "migration " + std::to_string(m.version) + " (" + std::string(m.name) + ")", [&] {
            // What a migration says as it goes (a long one's progress) is logged.
            const MigrationNotices notices(connection, m.version);
            pqxx::work tx(connection);
            tx.exec(std::string(m.sql));
            tx.exec_params(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                m.version, std::string(m.name), sum);
            tx.commit();
          });
      ++count;
    }
    if (after) after(locks);
    return count;
  } catch (const std::exception&) {
    rethrow_classified("migrate schema " + schema);
  }
}

}  // namespace

int migrate(pqxx::connection& connection, const std::string& schema, const MigrateWaits& waits) {
  return apply(connection, schema, migrations(), waits, [&](detail::LockWaits& locks) {
    locks.giving_way("recording the consumer-group kinds", [&] { record_group_kinds(connection); });
    // The built-in kinds' tables follow their declarations (the store
    // event's are the migrations' own).
    for (const auto& built : kinds::built_in_kinds()) {
      if (built.kind == kinds::kStoreEvent) continue;
      locks.giving_way("kind " + std::string(built.kind) + "'s tables", [&] {
        ensure_kind_tables(connection, kinds::find_kind(built.kind, ""), ViewChanges::kKeep);
      });
    }
  });
}

void giving_way(pqxx::connection& connection, const std::string& schema, const std::string& what,
                const MigrateWaits& waits, const std::function<void()>& step) {
  detail::LockWaits locks(connection, schema, waits);
  locks.giving_way(what, step);
}

int migrate_list(pqxx::connection& connection, const std::string& schema,
                 std::span<const Migration> list, const MigrateWaits& waits) {
  return apply(connection, schema, list, waits, {});
}

}  // namespace millrace::pg
