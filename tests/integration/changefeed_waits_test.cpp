// Waits on PostgreSQL that a feed must see through: a slot's creation, which
// waits for every transaction open in the cluster to end (given up when
// asked, said by a feed held up there, cancelled by its stop, and not held
// by a cancel that never arrives), and a backfill's chunk read longer than
// the server's wal_sender_timeout (the stream kept alive, a stop cancels
// it).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "changes.hpp"
#include "harness.hpp"
#include "millrace/pg/replication.hpp"
#include "pipeline.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// Relays the first TCP connection made to its port to 127.0.0.1:`to`, and
// refuses every later one: a session's query cancel (a connection of its
// own) never reaches the server, as behind a proxy that drops it.
class OneConnectionRelay {
 public:
  explicit OneConnectionRelay(int to) : listener_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&a), len) == 0);
    REQUIRE(::listen(listener_, 1) == 0);
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
    thread_ = std::thread([this, to] { relay(to); });
  }
  ~OneConnectionRelay() {
    stop_ = true;
    thread_.join();
    if (listener_ >= 0) ::close(listener_);
  }
  OneConnectionRelay(const OneConnectionRelay&) = delete;
  OneConnectionRelay& operator=(const OneConnectionRelay&) = delete;

  int port = 0;

 private:
  void relay(int to) {
    const int client = ::accept(listener_, nullptr, nullptr);
    ::close(listener_);  // later connections are refused
    listener_ = -1;
    const int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(to));
    if (client < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      if (client >= 0) ::close(client);
      ::close(server);
      return;
    }
    char buf[16384];
    while (!stop_) {
      pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (::poll(fds, 2, 100) <= 0) continue;
      bool open = true;
      for (int i = 0; i < 2 && open; ++i) {
        if (fds[i].revents == 0) continue;
        const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        open = n > 0 && ::write(fds[1 - i].fd, buf, static_cast<std::size_t>(n)) == n;
      }
      if (!open) break;
    }
    ::close(client);
    ::close(server);
  }

  int listener_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("a slot's creation waits for an open transaction, and what its wait throws cancels it",
          "[changefeed-waits]") {
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
          "[changefeed-waits]") {
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
    "[changefeed-waits]") {
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
  // The server ends a replication session silent for 4 s (wal_sender_timeout
  // is the session's to set); each chunk's read takes 6 s, and the feed says
  // it is there every second.
  std::string url = p.env.changefeed_pg;
  url += (url.find('?') == std::string::npos ? "?" : "&");
  url += "options=-c%20wal_sender_timeout%3D4s";
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
  const auto first = backfill("(SELECT pg_sleep(6)::text) = ''");
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

TEST_CASE("a cancel the server never gets does not hold the caller: the command is left",
          "[changefeed-waits]") {
  const auto env = stack_env();
  Published published(env, "it_cfc");
  const std::string& name = published.name;
  pqxx::connection holder(env.pg);
  pqxx::work open(holder);
  open.exec("SELECT txid_current()");
  // The feed's conninfo, through the relay: postgresql://user:pw@127.0.0.1:PORT/db.
  std::string url = env.changefeed_pg;
  const auto host = url.find("@127.0.0.1:");
  REQUIRE(host != std::string::npos);
  const auto port_at = host + std::string("@127.0.0.1:").size();
  const auto port_end = url.find('/', port_at);
  OneConnectionRelay relay(std::stoi(url.substr(port_at, port_end - port_at)));
  url.replace(port_at, port_end - port_at, std::to_string(relay.port));
  struct GiveUp {};
  bool gave_up = false;
  {
    pg::ReplicationConnection conn(url, "changefeed-test");
    try {
      conn.command("CREATE_REPLICATION_SLOT \"" + name + "\" LOGICAL pgoutput", milliseconds(50),
                   [](milliseconds) { throw GiveUp{}; });
    } catch (const GiveUp&) {
      gave_up = true;
    }
  }
  // Back while the transaction the slot waits for is still open.
  CHECK(gave_up);
  open.commit();
  // Its server process makes the slot, finds the client gone and ends: the
  // slot is left, released, and dropped here.
  pqxx::connection watcher(env.pg);
  const auto active = [&] {
    pqxx::nontransaction tx(watcher);
    return tx.exec("SELECT 1 FROM pg_replication_slots WHERE active AND slot_name = " +
                   tx.quote(name));
  };
  CHECK(eventually([&] { return active().empty(); }, seconds(30)));
  pqxx::nontransaction tx(watcher);
  tx.exec(
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = " +
      tx.quote(name));
}
