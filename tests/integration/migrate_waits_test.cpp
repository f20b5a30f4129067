// pg::migrate's waits for locks, on migrations of the test's own
// (pg::migrate_list): a statement queued behind a long transaction gives
// way, so that the sessions using the table are not queued behind it, says
// who holds the lock, and is applied once the holder ends; a stop ends the
// wait with nothing left held; another migrate at work is waited for and
// named; DDL of the caller's own (pg::giving_way) gives way the same; and a
// service's declared kind's tables (pg::prepare_kind_tables) give way
// within the session's lock_timeout, naming the holder of a table's lock or
// of the kind's own.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/pg/kind_tables.hpp"
#include "millrace/pg/schema_setup.hpp"
#include "millrace/runtime/retry.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const pg::Migration kTable{1, "table", "CREATE TABLE t (id int)"};
const pg::Migration kColumn{2, "column", "ALTER TABLE t ADD COLUMN v text"};

// What migrate() tells, kept for the test to read.
class Told {
 public:
  void operator()(const std::string& text) {
    std::lock_guard lock(mutex_);
    lines_.push_back(text);
  }
  // Waits up to 30 s for a line holding every one of `parts`.
  std::string wait_for(const std::vector<std::string>& parts) {
    const auto until = std::chrono::steady_clock::now() + seconds(30);
    while (std::chrono::steady_clock::now() < until) {
      {
        std::lock_guard lock(mutex_);
        for (const auto& line : lines_) {
          bool all = true;
          for (const auto& p : parts) all = all && line.find(p) != std::string::npos;
          if (all) return line;
        }
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    std::lock_guard lock(mutex_);
    std::string seen;
    for (const auto& line : lines_) seen += "\n  " + line;
    FAIL("nothing told holds what was waited for; told:" << seen);
    return {};
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

pg::MigrateWaits short_waits(Told& told) {
  pg::MigrateWaits w;
  w.lock_timeout = milliseconds(300);
  w.retry = milliseconds(100);
  w.tell = [&told](const std::string& text) { told(text); };
  return w;
}

// short_waits() whose pauses end, saying stop, once `stopping` is set.
pg::MigrateWaits stoppable_waits(Told& told, const std::atomic<bool>& stopping) {
  auto w = short_waits(told);
  w.pause = [&stopping](milliseconds wait) {
    std::this_thread::sleep_for(wait);
    return stopping.load();
  };
  return w;
}

// A schema of its own, migration 1 applied.
std::string fresh_schema(const StackEnv& env, const std::string& prefix) {
  const std::string schema = unique_name(prefix);
  auto conn =
      pg::connect(env.pg, schema, "it-migrate-waits", {}, pg::SchemaSetup::kCreateIfMissing);
  Told told;
  const std::vector<pg::Migration> first{kTable};
  REQUIRE(pg::migrate_list(*conn, schema, first, short_waits(told)) == 1);
  return schema;
}

// A session named `name` (its application_name), with a transaction open.
struct Holder {
  Holder(const StackEnv& env, const std::string& name) : conn(env.pg) {
    pqxx::nontransaction(conn).exec("SELECT set_config('application_name', " + conn.quote(name) +
                                    ", false)");
    tx.emplace(conn);
  }
  // Reads `schema`.`table`: holds its ACCESS SHARE lock until the
  // transaction ends.
  void reads(const std::string& schema, const std::string& table = "t") {
    tx->exec("SELECT * FROM " + tx->quote_name(schema) + "." + tx->quote_name(table));
  }
  pqxx::connection conn;
  std::optional<pqxx::work> tx;
};

bool has_column(const StackEnv& env, const std::string& schema) {
  pqxx::connection c(env.pg);
  pqxx::read_transaction tx(c);
  return tx.exec_params1(
               "SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND "
               "table_name = 't' AND column_name = 'v'",
               schema)[0]
             .as<int>() == 1;
}

void drop(const StackEnv& env, const std::string& schema) {
  pqxx::connection c(env.pg);
  pqxx::work tx(c);
  tx.exec("DROP SCHEMA " + tx.quote_name(schema) + " CASCADE");
  tx.commit();
}

}  // namespace

TEST_CASE("a migration behind a long transaction gives way to it, names it, and is applied after",
          "[migrate-waits]") {
  const auto env = stack_env();
  const std::string schema = fresh_schema(env, "it_mwait_lock");
  Holder report(env, "it-report");
  report.reads(schema);

  Told told;
  const std::vector<pg::Migration> both{kTable, kColumn};
  auto migrating = std::async(std::launch::async, [&] {
    auto conn = pg::connect(env.pg, schema, "it-migrate-waits", {});
    return pg::migrate_list(*conn, schema, both, short_waits(told));
  });
  const std::string line =
      told.wait_for({"migration 2 (column)", "gave way", "it-report", "on t", "open "});
  INFO(line);

  // The sessions that use the table are not queued behind the waiting
  // ALTER: with it queued for good, this insert would wait out its 5 s.
  {
    pqxx::connection writer(env.pg);
    pqxx::work tx(writer);
    tx.exec("SET LOCAL lock_timeout = '5s'");
    for (int i = 0; i < 5; ++i) {
      tx.exec("INSERT INTO " + tx.quote_name(schema) + ".t VALUES (" + std::to_string(i) + ")");
    }
    tx.commit();
  }
  CHECK(migrating.wait_for(milliseconds(500)) == std::future_status::timeout);
  CHECK_FALSE(has_column(env, schema));

  report.tx->commit();
  REQUIRE(migrating.wait_for(seconds(30)) == std::future_status::ready);
  CHECK(migrating.get() == 1);
  CHECK(has_column(env, schema));
  drop(env, schema);
}

TEST_CASE("a stop ends a migration's wait for a lock, its lock let go and its timeout restored",
          "[migrate-waits]") {
  const auto env = stack_env();
  const std::string schema = fresh_schema(env, "it_mwait_stop");
  Holder report(env, "it-report");
  report.reads(schema);

  Told told;
  std::atomic<bool> stopping{false};
  const auto waits = stoppable_waits(told, stopping);
  auto conn = pg::connect(env.pg, schema, "it-migrate-waits", {});
  pqxx::nontransaction(*conn).exec("SET lock_timeout = '42s'");
  const std::vector<pg::Migration> both{kTable, kColumn};
  auto migrating =
      std::async(std::launch::async, [&] { return pg::migrate_list(*conn, schema, both, waits); });
  told.wait_for({"migration 2 (column)", "it-report"});
  stopping = true;
  REQUIRE(migrating.wait_for(seconds(30)) == std::future_status::ready);
  CHECK_THROWS_AS(migrating.get(), runtime::Stopped);

  // The session is as it was, and holds nothing: another migrate takes the
  // lock at once, and applies the migration once the report ends.
  CHECK(pqxx::nontransaction(*conn).exec1("SHOW lock_timeout")[0].as<std::string>() == "42s");
  CHECK_FALSE(has_column(env, schema));
  report.tx->commit();
  Told again;
  auto other = pg::connect(env.pg, schema, "it-migrate-waits", {});
  CHECK(pg::migrate_list(*other, schema, both, short_waits(again)) == 1);
  CHECK(has_column(env, schema));
  drop(env, schema);
}

TEST_CASE("a migrate waits for another at work on the schema, and names it", "[migrate-waits]") {
  const auto env = stack_env();
  const std::string schema = fresh_schema(env, "it_mwait_other");
  Holder other(env, "it-other-migrate");
  other.tx->exec_params("SELECT pg_advisory_xact_lock(hashtext($1))", "millrace.migrate." + schema);

  Told told;
  // Taken as soon as the other lets go, not at a next try: with tries ten
  // minutes apart, the wait below would run out first.
  auto waits = short_waits(told);
  waits.retry = std::chrono::minutes(10);
  const std::vector<pg::Migration> both{kTable, kColumn};
  auto migrating = std::async(std::launch::async, [&] {
    auto conn = pg::connect(env.pg, schema, "it-migrate-waits", {});
    return pg::migrate_list(*conn, schema, both, waits);
  });
  told.wait_for({"being migrated by another session", "it-other-migrate"});
  CHECK(migrating.wait_for(milliseconds(300)) == std::future_status::timeout);
  other.tx->commit();
  REQUIRE(migrating.wait_for(seconds(30)) == std::future_status::ready);
  CHECK(migrating.get() == 1);
  drop(env, schema);
}

TEST_CASE("a stop ends a migrate's wait for another's lock, with nothing taken",
          "[migrate-waits]") {
  const auto env = stack_env();
  const std::string schema = fresh_schema(env, "it_mwait_ostop");
  Holder other(env, "it-other-migrate");
  other.tx->exec_params("SELECT pg_advisory_xact_lock(hashtext($1))", "millrace.migrate." + schema);

  Told told;
  std::atomic<bool> stopping{false};
  const auto waits = stoppable_waits(told, stopping);
  auto conn = pg::connect(env.pg, schema, "it-migrate-waits", {});
  const std::vector<pg::Migration> both{kTable, kColumn};
  auto migrating =
      std::async(std::launch::async, [&] { return pg::migrate_list(*conn, schema, both, waits); });
  told.wait_for({"being migrated by another session", "it-other-migrate"});
  stopping = true;
  REQUIRE(migrating.wait_for(seconds(30)) == std::future_status::ready);
  CHECK_THROWS_AS(migrating.get(), runtime::Stopped);
  // The stopped session holds no lock of the schema's: once the other
  // ends, a third migrate takes the lock at once.
  other.tx->commit();
  CHECK_FALSE(has_column(env, schema));
  Told again;
  auto third = pg::connect(env.pg, schema, "it-migrate-waits", {});
  CHECK(pg::migrate_list(*third, schema, both, short_waits(again)) == 1);
  drop(env, schema);
}

TEST_CASE("DDL of the caller's own gives way as a migration does (pg::giving_way)",
          "[migrate-waits]") {
  const auto env = stack_env();
  const std::string schema = fresh_schema(env, "it_mwait_own");
  Holder report(env, "it-report");
  report.reads(schema);

  Told told;
  auto conn = pg::connect(env.pg, schema, "it-migrate-waits", {});
  auto altering = std::async(std::launch::async, [&] {
    pg::giving_way(*conn, schema, "kind t's tables", short_waits(told), [&] {
      pqxx::work tx(*conn);
      tx.exec("ALTER TABLE t ADD COLUMN v text");
      tx.commit();
    });
  });
  told.wait_for({"kind t's tables waited", "it-report"});
  report.tx->commit();
  REQUIRE(altering.wait_for(seconds(30)) == std::future_status::ready);
  altering.get();
  CHECK(has_column(env, schema));
  drop(env, schema);
}

TEST_CASE("a service's kind tables behind a long transaction give way and name it",
          "[migrate-waits]") {
  const auto env = stack_env();
  const std::string schema = unique_name("it_mwait_kind");
  auto conn =
      pg::connect(env.pg, schema, "it-migrate-waits", {}, pg::SchemaSetup::kCreateIfMissing);
  pg::migrate(*conn, schema);
  // The fields' list, left open for one more.
  const std::string fields =
      R"([{"name": "Id", "column": "id", "type": "text", "required": true, "min_bytes": 1},
          {"name": "At", "column": "at", "type": "timestamp", "required": true})";
  const auto declared = [&](const std::string& more) {
    return kinds::parse_declaration(
        R"({"kind": "parcel", "description": "a parcel", "topic": {"name": "parcels",
            "env": "MILLRACE_PARCELS_TOPIC", "partitions": 1}, "table": "parcels",
            "identity": "Id", "time": "At", "fields": )" +
            fields + more + "]}",
        "test");
  };
  pg::prepare_kind_tables(*conn, schema, declared(""), true);
  const auto grown = declared(R"(, {"name": "Note", "column": "note", "type": "text"})");

  Holder report(env, "it-report");
  report.reads(schema, "parcels");
  pqxx::nontransaction(*conn).exec("SET lock_timeout = '300ms'");
  // What prepare_kind_tables() said as it gave way, retryable.
  const auto gave_way = [&]() -> std::string {
    try {
      pg::prepare_kind_tables(*conn, schema, grown, true);
    } catch (const core::InfraError& e) {
      CHECK(e.failure_class() == core::FailureClass::kRetryable);
      return e.what();
    }
    FAIL("the kind's tables did not wait for the lock");
    return {};
  };
  const auto behind_report = gave_way();
  INFO(behind_report);
  CHECK(behind_report.find("kind parcel's tables waited 300ms") != std::string::npos);
  CHECK(behind_report.find("it-report") != std::string::npos);
  CHECK(behind_report.find("on parcels") != std::string::npos);
  report.tx->commit();

  // Another service making the kind's tables holds the kind's lock.
  Holder maker(env, "it-maker");
  maker.tx->exec("SELECT pg_advisory_xact_lock(hashtext(" +
                 maker.tx->quote(pg::kind_tables_lock("parcel")) + "))");
  const auto behind_maker = gave_way();
  INFO(behind_maker);
  CHECK(behind_maker.find("it-maker") != std::string::npos);
  CHECK(behind_maker.find("on the lock millrace.kind.parcel") != std::string::npos);
  maker.tx->commit();
  pg::prepare_kind_tables(*conn, schema, grown, true);
  pqxx::read_transaction tx(*conn);
  CHECK(tx.exec_params1("SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 "
                        "AND table_name = 'parcels' AND column_name = 'note'",
                        schema)[0]
            .as<int>() == 1);
  tx.commit();
  drop(env, schema);
}
