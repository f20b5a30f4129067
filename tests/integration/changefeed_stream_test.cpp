// The replication connection against the test stack's PostgreSQL: a slot
// streams committed transactions over CopyBoth, a standby status update
// moves the slot's confirmed position, and a new connection resumes after
// it without sending a confirmed transaction again.
#include <catch2/catch.hpp>
#include <exception>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <variant>

#include "changes.hpp"
#include "harness.hpp"
#include "millrace/changefeed/assembler.hpp"
#include "millrace/changefeed/walstream.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/pg/replication.hpp"

using namespace millrace;
using namespace millrace::changefeed;
using namespace millrace::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// Reads until `count` transactions came (or `timeout`); answers keepalives.
std::vector<changefeed::Transaction> stream(pg::ReplicationConnection& conn, std::size_t count,
                                            seconds timeout) {
  Assembler assembler([](const Relation&) { return std::vector<std::string>{}; });
  std::vector<changefeed::Transaction> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    const auto bytes = conn.read(milliseconds(200));
    if (!bytes) continue;
    const auto message = parse_server_message(*bytes);
    if (const auto* x = std::get_if<XLogData>(&message)) {
      if (auto tx = assembler.feed(decode(x->data), x->wal_start)) out.push_back(std::move(*tx));
    } else if (std::get<Keepalive>(message).reply_requested) {
      conn.write(standby_status_update(0, 0, 0, 0, false));
    }
  }
  return out;
}

std::string confirmed_flush(pqxx::connection& c, const std::string& slot) {
  pqxx::nontransaction tx(c);
  return tx
      .exec1("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = " +
             tx.quote(slot))[0]
      .as<std::string>();
}

// True once no session streams from `slot` (within 10 s).
bool slot_released(pqxx::connection& c, const std::string& slot) {
  return eventually(
      [&] {
        pqxx::nontransaction tx(c);
        return !tx.exec1("SELECT active FROM pg_replication_slots WHERE slot_name = " +
                         tx.quote(slot))[0]
                    .as<bool>();
      },
      seconds(10));
}

}  // namespace

TEST_CASE("a slot streams committed transactions, and resumes after the confirmed position",
          "[changefeed-stream]") {
  const auto env = stack_env();
  Published published(env, "it_cfs");
  const std::string& name = published.name;
  const std::string& t = published.table;
  const std::string& start = published.start;
  const auto exec = [&](const std::string& sql) { published.exec(sql); };
  {
    pg::ReplicationConnection conn(env.changefeed_pg, "changefeed-test");
    const auto system = conn.command("IDENTIFY_SYSTEM");
    REQUIRE(system.size() == 1);
    CHECK(system[0].at(3) == std::optional<std::string>("millrace"));  // dbname
    conn.command("CREATE_REPLICATION_SLOT \"" + name + "\" LOGICAL pgoutput");
    conn.start(start);
    for (int i = 1; i <= 3; ++i) {
      exec("INSERT INTO " + t + " VALUES (" + std::to_string(i) + ", 'v" + std::to_string(i) +
           "')");
    }
    const auto first = stream(conn, 3, seconds(30));
    REQUIRE(first.size() == 3);
    CHECK(first[0].changes.at(0).after->at(0).data == "1");
    CHECK(first[2].changes.at(0).after->at(0).data == "3");
    // Confirm the first two only.
    conn.write(
        standby_status_update(first[1].end_lsn, first[1].end_lsn, first[1].end_lsn, 0, true));
    pqxx::connection watcher(env.pg);
    CHECK(eventually([&] { return confirmed_flush(watcher, name) == format_lsn(first[1].end_lsn); },
                     seconds(10)));
  }
  // A new session: the slot was released when the connection closed.
  exec("INSERT INTO " + t + " VALUES (4, 'v4')");
  {
    pg::ReplicationConnection conn(env.changefeed_pg, "changefeed-test");
    pqxx::connection watcher(env.pg);
    REQUIRE(slot_released(watcher, name));
    conn.start(start);
    const auto rest = stream(conn, 2, seconds(30));
    REQUIRE(rest.size() == 2);  // the unconfirmed third, then the fourth
    CHECK(rest[0].changes.at(0).after->at(0).data == "3");
    CHECK(rest[1].changes.at(0).after->at(0).data == "4");
    // No third-party writer interferes: nothing else comes.
    CHECK(stream(conn, 1, seconds(2)).empty());
  }
  {
    pg::ReplicationConnection conn(env.changefeed_pg, "changefeed-test");
    conn.command("DROP_REPLICATION_SLOT \"" + name + "\" WAIT");
    // A plain SQL error is classified: an unknown slot is not retryable.
    try {
      conn.command("DROP_REPLICATION_SLOT \"" + name + "\"");
      FAIL("dropping a missing slot succeeded");
    } catch (const core::InfraError& e) {
      CHECK(e.failure_class() == core::FailureClass::kFatal);
    }
  }
}

// The server ends the stream's session (pg_terminate_backend, as an
// operator or a failover does): libpq then drops the connection by itself,
// and over TLS frees its SSL, under which the stream had put a read buffer
// (pg/src/tls_read_buffer.hpp). The next read throws a retryable error and
// the connection closes cleanly, with TLS and without (scripts/nemesis
// --seed 5,20,2 found the feed crashing here, reading the freed SSL).
TEST_CASE("a stream whose session the server ends throws a retryable error, over TLS or not",
          "[changefeed-stream]") {
  const auto env = stack_env();
  Published published(env, "it_cft");
  const std::string& name = published.name;
  const std::string& t = published.table;
  const std::string& start = published.start;
  const auto exec = [&](const std::string& sql) { published.exec(sql); };
  {
    pg::ReplicationConnection conn(env.changefeed_pg, "changefeed-test");
    conn.command("CREATE_REPLICATION_SLOT \"" + name + "\" LOGICAL pgoutput");
  }
  const char separator = env.changefeed_pg.find('?') == std::string::npos ? '?' : '&';
  int row = 0;
  for (const bool tls : {true, false}) {
    INFO("tls: " << tls);
    const std::string url =
        env.changefeed_pg + separator + "sslmode=" + (tls ? "require" : "disable");
    pqxx::connection watcher(env.pg);
    // The slot is free again once the previous round's session has ended.
    REQUIRE(slot_released(watcher, name));
    auto conn = std::make_unique<pg::ReplicationConnection>(url, "changefeed-test");
    conn->start(start);
    ++row;
    exec("INSERT INTO " + t + " VALUES (" + std::to_string(row) + ", 'v')");
    REQUIRE(stream(*conn, 1, seconds(30)).size() == 1);
    {
      // A session of the feed's own role may look at and end its sessions.
      pqxx::connection own(env.changefeed_pg);
      pqxx::nontransaction tx(own);
      CHECK(tx.exec1("SELECT ssl FROM pg_stat_ssl WHERE pid = " +
                     std::to_string(conn->backend_pid()))[0]
                .as<bool>() == tls);
      CHECK(tx.exec1("SELECT pg_terminate_backend(" + std::to_string(conn->backend_pid()) + ")")[0]
                .as<bool>());
      // Read only once the server process is gone: its last message, the
      // end of its TLS session and the socket's end are all there at once
      // (as for a feed busy elsewhere when it happened), so libpq meets the
      // end while it reads and drops the connection itself.
      CHECK(eventually(
          [&] {
            return tx.exec1("SELECT count(*) FROM pg_stat_activity WHERE pid = " +
                            std::to_string(conn->backend_pid()))[0]
                       .as<int>() == 0;
          },
          seconds(10)));
    }
    bool ended = false;
    const auto deadline = std::chrono::steady_clock::now() + seconds(30);
    while (!ended && std::chrono::steady_clock::now() < deadline) {
      try {
        conn->read(milliseconds(200));
      } catch (const core::InfraError& e) {
        INFO(e.what());
        CHECK(e.failure_class() == core::FailureClass::kRetryable);
        ended = true;
      }
    }
    CHECK(ended);
    // Read again after the error, as a caller's last look might, then close.
    CHECK_THROWS_AS(conn->read(milliseconds(0)), core::InfraError);
    conn.reset();
  }
  {
    pqxx::connection watcher(env.pg);
    REQUIRE(slot_released(watcher, name));
    pg::ReplicationConnection conn(env.changefeed_pg, "changefeed-test");
    conn.command("DROP_REPLICATION_SLOT \"" + name + "\" WAIT");
  }
}

TEST_CASE("a role without REPLICATION is refused for good", "[changefeed-stream]") {
  const auto env = stack_env();
  try {
    pg::ReplicationConnection conn(env.pg, "changefeed-test");
    conn.command("IDENTIFY_SYSTEM");
    FAIL("a role without REPLICATION opened a replication connection");
  } catch (const core::InfraError& e) {
    INFO(e.what());
    CHECK(e.failure_class() == core::FailureClass::kFatal);
  }
}
