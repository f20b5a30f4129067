// The replication connection against the test stack's PostgreSQL: a slot
// streams committed transactions over CopyBoth, a standby status update
// moves the slot's confirmed position, and a new connection resumes after
// it without sending a confirmed transaction again. A slot's creation waits
// for every open transaction to end: the wait can be given up, and a feed
// held up there says by what and stops when asked.
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
#include "pipeline.hpp"

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

// A schema of its own holding one table, t (id int, v text), published
// under the schema's name; `start` streams a slot of that name from it.
// Dropped again at the end, when the test got that far or not.
struct Published {
  Published(const StackEnv& env, std::string_view prefix)
      : name(unique_name(prefix)), table("\"" + name + "\".t"), owner(env.pg) {
    exec("CREATE SCHEMA \"" + name + "\"");
    exec("CREATE TABLE " + table + " (id int PRIMARY KEY, v text)");
    exec("CREATE PUBLICATION \"" + name + "\" FOR TABLE " + table);
    start = "START_REPLICATION SLOT \"" + name +
            "\" LOGICAL 0/0 (proto_version '1', publication_names '\"" + name + "\"')";
  }
  ~Published() {
    try {
      exec("DROP PUBLICATION \"" + name + "\"");
      exec("DROP SCHEMA \"" + name + "\" CASCADE");
    } catch (const std::exception&) {  // not dropped: a name of its own, in a test stack
    }
  }
  Published(const Published&) = delete;
  Published& operator=(const Published&) = delete;

  void exec(const std::string& sql) {
    pqxx::work tx(owner);
    tx.exec(sql);
    tx.commit();
  }

  const std::string name;
  const std::string table;
  std::string start;
  pqxx::connection owner;
};

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

TEST_CASE("a slot's creation waits for an open transaction, and what its wait throws cancels it",
          "[changefeed-stream]") {
  const auto env = stack_env();
  Published published(env, "it_cfw");
  const std::string& name = published.name;
  pqxx::connection watcher(env.pg);
  const auto slot = [&] {
    pqxx::nontransaction tx(watcher);
    return tx.exec(
        "SELECT confirmed_flush_lsn IS NULL FROM pg_replication_slots WHERE "
        "slot_name = " +
        tx.quote(name));
  };
  // A transaction with an id, open: the slot cannot start before it ends.
  pqxx::connection holder(env.pg);
  pqxx::work open(holder);
  open.exec("SELECT txid_current()");
  const std::string create = "CREATE_REPLICATION_SLOT \"" + name + "\" LOGICAL pgoutput";
  pg::ReplicationConnection conn(env.changefeed_pg, "changefeed-test");
  struct GiveUp {};
  int calls = 0;
  bool listed_unready = false;
  milliseconds waited{0};
  try {
    conn.command(create, milliseconds(50), [&](milliseconds w) {
      waited = w;
      if (++calls < 3) return;
      // Listed while it waits, with no confirmed position yet.
      const auto r = slot();
      listed_unready = r.size() == 1 && r[0][0].as<bool>();
      throw GiveUp{};
    });
    FAIL("the slot was made while a transaction it waits for was open");
  } catch (const GiveUp&) {
  }
  CHECK(calls == 3);
  CHECK(waited >= milliseconds(100));
  CHECK(listed_unready);
  // Cancelled at the server: no slot is left, and the connection takes the
  // next command.
  CHECK(eventually([&] { return slot().empty(); }, seconds(10)));
  CHECK(conn.command("IDENTIFY_SYSTEM").size() == 1);
  open.commit();
  // Nothing of this test's open: it is made (once other tests' transactions
  // of the moment end).
  const auto created = conn.command(create, milliseconds(50), [](milliseconds) {});
  REQUIRE(created.size() == 1);
  CHECK(slot().size() == 1);
  conn.command("DROP_REPLICATION_SLOT \"" + name + "\"");
}

TEST_CASE("a feed whose new slot waits for an open transaction says so, and stops when asked",
          "[changefeed-stream]") {
  Pipeline p("it_cfwait");
  std::string out;
  REQUIRE(run(bin("millrace"), {"migrate"},
              {{"MILLRACE_PG", p.env.pg}, {"MILLRACE_PG_SCHEMA", p.schema}}, &out) == 0);
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("CREATE TABLE " + p.schema + ".items (id int PRIMARY KEY)");
    tx.commit();
  }
  ChangeFeedRig rig(p, {"items"});
  pqxx::connection holder(p.env.pg);
  pqxx::work open(holder);
  open.exec("SELECT txid_current()");
  auto feed = rig.start("changefeed");
  const std::string log = p.log_dir + "/" + p.topic + ".changefeed.log";
  const std::string told = "creating replication slot " + rig.slot + " has waited";
  CHECK(eventually([&] { return read_file(log).find(told) != std::string::npos; }, seconds(60)));
  const auto ready = http_answer(feed.metrics_port, "/readyz");
  INFO(ready.body);
  CHECK(ready.status == 503);
  CHECK(ready.body.find(told) != std::string::npos);
  // The transaction is still open: the stop does not wait for it.
  CHECK(stop_cleanly({&feed}));
  INFO(read_file(log));
  open.exec("SELECT 1");
  open.commit();
  pqxx::nontransaction tx(holder);
  CHECK(tx.exec("SELECT 1 FROM pg_replication_slots WHERE slot_name = " + tx.quote(rig.slot))
            .empty());
}

TEST_CASE(
    "a backfill's chunk read longer than wal_sender_timeout keeps the stream, and a stop "
    "cancels a read",
    "[changefeed-stream]") {
  Pipeline p("it_cfslow");
  std::string out;
  REQUIRE(run(bin("millrace"), {"migrate"},
              {{"MILLRACE_PG", p.env.pg}, {"MILLRACE_PG_SCHEMA", p.schema}}, &out) == 0);
  const std::string items = "\"" + p.schema + "\".items";
  pqxx::connection c(p.env.pg);
  {
    pqxx::work tx(c);
    tx.exec("CREATE TABLE " + items + " (id int PRIMARY KEY, v text)");
    tx.exec("INSERT INTO " + items + " SELECT g, 'v' || g FROM generate_series(1, 300) g");
    tx.commit();
  }
  ChangeFeedRig rig(p, {"items"});
  rig.grant_select({"items"});
  // The server ends a replication session silent for 2 s (wal_sender_timeout
  // is the session's to set); each chunk's read takes 3 s.
  std::string url = p.env.changefeed_pg;
  url += (url.find('?') == std::string::npos ? "?" : "&");
  url += "options=-c%20wal_sender_timeout%3D2s";
  auto feed = rig.start("changefeed", {{"MILLRACE_CHANGEFEED_PG", url},
                                       {"MILLRACE_CHANGEFEED_BACKFILL_POLL_MS", "100"}});
  rig.wait_streaming();
  const auto backfill = [&](const std::string& where) {
    std::string id;
    REQUIRE(run(bin("millrace"),
                {"changefeed", "backfill", "--table", "items", "--publication", rig.publication,
                 "--chunk-size", "150", "--where", where},
                {{"MILLRACE_PG", p.env.pg}, {"MILLRACE_PG_SCHEMA", p.schema}}, &id) == 0);
    return std::stoll(id);
  };
  const auto state = [&](std::int64_t id) {
    pqxx::nontransaction tx(c);
    return tx
        .exec1("SELECT state FROM \"" + p.schema +
               "\".changefeed_backfills WHERE id = " + std::to_string(id))[0]
        .as<std::string>();
  };
  const std::string log = p.log_dir + "/" + p.topic + ".changefeed.log";
  const auto first = backfill("(SELECT pg_sleep(3)::text) = ''");
  CHECK(eventually([&] { return state(first) == "done"; }, seconds(120)));
  INFO(read_file(log));
  // One session all along: the walsender never ended it.
  CHECK(read_file(log).find("replication stream") == std::string::npos);
  const auto records = rig.read_all(301);
  CHECK(records.size() == 301);  // the 300 rows and the backfill's end

  // A read that would take 10 minutes: the stop cancels it.
  const auto second = backfill("(SELECT pg_sleep(600)::text) = ''");
  // As the feed's role, which sees its own sessions' statements.
  pqxx::connection as_feed(p.env.changefeed_pg);
  const auto reading = [&] {
    pqxx::nontransaction tx(as_feed);
    return tx.exec1(
                 "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' "
                 "AND pid <> pg_backend_pid()")[0]
               .as<int>() == 1;
  };
  CHECK(eventually(reading, seconds(60)));
  CHECK(state(second) == "running");
  CHECK(stop_cleanly({&feed}));
  CHECK(eventually([&] { return !reading(); }, seconds(10)));
}
