// Backfills under faults: a table of 1,000,000 rows backfilled while
// updates, inserts, deletes and key changes go on, the feed SIGKILLed
// twice in the middle. A read_committed consumer that applies every record
// in order must end with the table, row for row (with --where: every row
// that matches, and nothing stale).
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <map>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <thread>

#include "changes.hpp"
#include "fault_report.hpp"
#include "harness.hpp"
#include "pipeline.hpp"
#include "scrape.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr long long kRows = 1'000'000;
constexpr int kChunk = 5000;

std::string items(const Pipeline& p) {
  return "\"" + p.schema + "\".items";
}

// Changes the table on a thread until stopped: each transaction updates
// three rows just ahead of the backfill's published position (so its chunk
// windows see changes) and three anywhere, deletes one, inserts two new
// rows, and every twentieth moves a row to a new key. Counts the row
// changes committed. join() reports.
class ChurnWriter {
 public:
  ChurnWriter(const Pipeline& p, std::string signals)
      : thread_([this, conninfo = p.env.pg, table = items(p), signals = std::move(signals)] {
          try {
            pqxx::connection c(conninfo);
            std::mt19937_64 rng(7);
            long long next_id = 2 * kRows;
            long long ahead = 0;
            for (int t = 0; !stop_.load(); ++t) {
              if (t % 10 == 0) {
                pqxx::nontransaction q(c);
                // last_key is a JSON array of the key's text: ["41"].
                const auto r = q.exec("SELECT coalesce((last_key::json->>0)::bigint, 0) FROM " +
                                      signals + " ORDER BY id DESC LIMIT 1");
                ahead = r.empty() ? 0 : r[0][0].as<long long>();
              }
              pqxx::work tx(c);
              std::uint64_t changes = 0;
              const auto update = [&](long long id) {
                changes += static_cast<std::uint64_t>(
                    tx.exec("UPDATE " + table + " SET v = v + 1 WHERE id = " + std::to_string(id))
                        .affected_rows());
              };
              for (int i = 0; i < 3; ++i)
                update(ahead + static_cast<long long>(rng() % (3 * kChunk)));
              for (int i = 0; i < 3; ++i) update(static_cast<long long>(rng() % kRows));
              changes += static_cast<std::uint64_t>(
                  tx.exec("DELETE FROM " + table +
                          " WHERE id = " + std::to_string(static_cast<long long>(rng() % kRows)))
                      .affected_rows());
              for (int i = 0; i < 2; ++i) {
                tx.exec("INSERT INTO " + table + " VALUES (" + std::to_string(next_id++) +
                        ", 1, 'new')");
                ++changes;
              }
              if (t % 20 == 19) {
                changes += static_cast<std::uint64_t>(
                    tx.exec("UPDATE " + table + " SET id = " + std::to_string(next_id++) +
                            " WHERE id = " +
                            std::to_string(ahead + static_cast<long long>(rng() % kChunk)))
                        .affected_rows());
              }
              tx.commit();
              committed_ += changes;
              std::this_thread::sleep_for(milliseconds(10));
            }
          } catch (const std::exception& e) {
            error_ = e.what();
          }
        }) {}
  ~ChurnWriter() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::uint64_t stop() {
    stop_ = true;
    thread_.join();
    INFO(error_);
    REQUIRE(error_.empty());
    return committed_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> committed_{0};
  std::string error_;
  std::thread thread_;
};

struct Signal {
  std::string state;
  long long rows = 0;
};

Signal signal_row(const Pipeline& p, const std::string& signals, long long id) {
  pqxx::connection c(p.env.pg);
  pqxx::nontransaction tx(c);
  const auto r =
      tx.exec("SELECT state, rows_sent FROM " + signals + " WHERE id = " + std::to_string(id));
  REQUIRE(r.size() == 1);
  return {r[0][0].as<std::string>(), r[0][1].as<long long>()};
}

void run_backfill_under_kills(const std::string& name, const std::string& where) {
  Pipeline p(name);
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("CREATE SCHEMA IF NOT EXISTS " + tx.quote_name(p.schema));
    tx.exec("CREATE TABLE " + items(p) + " (id bigint PRIMARY KEY, v int, note text)");
    tx.exec("INSERT INTO " + items(p) + " SELECT g, 0, 'row ' || g FROM generate_series(0, " +
            std::to_string(kRows - 1) + ") g");
    tx.commit();
  }
  ChangeFeedRig rig(p, {"items"});
  rig.grant_select({"items"});
  const std::string signals = "\"" + p.schema + "\".changefeed_backfills";
  const std::map<std::string, std::string> env = {{"MILLRACE_CHANGEFEED_BACKFILL_POLL_MS", "100"},
                                                  {"MILLRACE_RETRY_BACKOFF_MS", "100"}};
  auto feed = std::make_unique<Child>(rig.start("cf-0", env));
  rig.wait_streaming();
  long long matching = kRows;
  if (!where.empty()) {
    pqxx::connection c(p.env.pg);
    pqxx::nontransaction tx(c);
    matching = tx.exec1("SELECT count(*) FROM " + items(p) + " WHERE " + where)[0].as<long long>();
  }

  ChurnWriter writer(p, signals);
  std::vector<std::string> args = {
      "changefeed",    "backfill",      "--table",      "items",
      "--publication", rig.publication, "--chunk-size", std::to_string(kChunk)};
  if (!where.empty()) {
    args.push_back("--where");
    args.push_back(where);
  }
  std::string out;
  REQUIRE(run(bin("millrace"), args, {{"MILLRACE_PG", p.env.pg}, {"MILLRACE_PG_SCHEMA", p.schema}},
              &out) == 0);
  const long long id = std::stoll(out);

  // Two kills in the middle: after a third and after two thirds of the rows
  // were published, at a random moment within the next 300 ms.
  std::mt19937 rng(31);
  int kills = 0;
  for (; kills < 2; ++kills) {
    const long long mark = matching * (kills + 1) / 3;
    REQUIRE(eventually([&] { return signal_row(p, signals, id).rows >= mark; }, seconds(300)));
    std::this_thread::sleep_for(milliseconds(rng() % 300));
    CHECK(signal_row(p, signals, id).state == "running");
    feed->signal(SIGKILL);
    CHECK(feed->wait(seconds(10)) == 128 + SIGKILL);
    feed = std::make_unique<Child>(rig.start("cf-" + std::to_string(kills + 1), env));
  }
  REQUIRE(eventually([&] { return signal_row(p, signals, id).state == "done"; }, seconds(600)));
  const std::uint64_t committed = writer.stop();
  const Signal done = signal_row(p, signals, id);
  Stopwatch recovery;

  std::map<long long, int> table;
  {
    pqxx::connection c(p.env.pg);
    pqxx::nontransaction tx(c);
    for (const auto& row : tx.exec("SELECT id, v FROM " + items(p))) {
      table[row[0].as<long long>()] = row[1].as<int>();
    }
  }
  // Every change the writer committed, every row the backfill published
  // and its end marker, once.
  const std::uint64_t expected = committed + static_cast<std::uint64_t>(done.rows) + 1;
  const auto records = rig.read_all(expected);
  const double recovery_s = recovery.seconds();
  CHECK(stop_cleanly({feed.get()}));
  const auto ids = check_exactly_once_in_order(records);
  CHECK(records.size() == expected);

  // Applied in commit order (in_commit_order says why not per partition):
  // what the consumer ends with.
  const auto ordered = in_commit_order(records);
  std::map<long long, int> rebuilt;
  std::uint64_t read_rows = 0, ends = 0;
  for (const auto* rp : ordered) {
    const auto& r = *rp;
    rapidjson::Document d;
    d.Parse(r.value.c_str());
    if (r.op == "e") {
      // The end: every row of the backfill is before it.
      ++ends;
      CHECK(read_rows == static_cast<std::uint64_t>(done.rows));
      CHECK(d["backfill"]["id"].GetInt64() == id);
      CHECK(d["backfill"]["rows"].GetInt64() == done.rows);
      CHECK(d["backfill"].HasMember("where") == !where.empty());
      continue;
    }
    const long long key = d["key"]["id"].GetInt64();
    if (r.op == "d") {
      rebuilt.erase(key);
      continue;
    }
    if (r.op == "r") {
      ++read_rows;
      CHECK(d["source"]["backfill"].GetInt64() == id);
    }
    const auto& before = d["before"];
    if (before.IsObject() && before.HasMember("id") && before["id"].GetInt64() != key) {
      rebuilt.erase(before["id"].GetInt64());  // the key changed
    }
    rebuilt[key] = d["after"]["v"].GetInt();
  }
  CHECK(read_rows == static_cast<std::uint64_t>(done.rows));
  CHECK(ends == 1);
  std::uint64_t missing = 0, wrong = 0, stale = 0;
  for (const auto& [key, v] : rebuilt) {
    const auto it = table.find(key);
    if (it == table.end()) {
      ++stale;  // deleted in the table, alive in the consumer's copy
    } else if (it->second != v) {
      ++wrong;
    }
  }
  {
    // The rows the backfill was asked for, as the table holds them now.
    pqxx::connection c(p.env.pg);
    pqxx::nontransaction tx(c);
    for (const auto& row :
         tx.exec("SELECT id FROM " + items(p) + (where.empty() ? "" : " WHERE " + where))) {
      if (rebuilt.count(row[0].as<long long>()) == 0) ++missing;
    }
  }
  CHECK(missing == 0);
  CHECK(wrong == 0);
  CHECK(stale == 0);
  if (where.empty()) CHECK(rebuilt.size() == table.size());
  record_fault({name, expected, missing + wrong + stale,
                ids.size() - std::set<std::string>(ids.begin(), ids.end()).size(), 0, recovery_s});
  CHECK(kills == 2);
}

}  // namespace

TEST_CASE("a backfill of 1,000,000 rows under writes, its feed SIGKILLed twice, rebuilds the table",
          "[changefeed-backfill-kill]") {
  run_backfill_under_kills("ft_cfbf", "");
}

TEST_CASE("a backfill with --where under writes, its feed SIGKILLed twice, rebuilds those rows",
          "[changefeed-backfill-where]") {
  run_backfill_under_kills("ft_cfbfw", "id % 3 <> 0");
}

namespace {

// The test stack's superuser, over its Unix socket (trust): ALTER SYSTEM,
// CHECKPOINT and pg_switch_wal() are its.
std::string superuser_pg(const Pipeline& p) {
  pqxx::connection c(p.env.pg);
  pqxx::nontransaction tx(c);
  const auto r = tx.exec1("SELECT current_setting('port'), current_database()");
  const char* state = std::getenv("MILLRACE_STATE_DIR");
  REQUIRE(state != nullptr);
  return "host=" + std::string(state) + "/pgrun port=" + r[0].as<std::string>() +
         " user=postgres dbname=" + r[1].as<std::string>();
}

void superuser(const Pipeline& p, const std::string& sql) {
  pqxx::connection c(superuser_pg(p));
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}

// Sets max_slot_wal_keep_size back to unlimited, however the test ends.
struct WalKeepGuard {
  const Pipeline& p;
  ~WalKeepGuard() {
    try {
      superuser(p, "ALTER SYSTEM RESET max_slot_wal_keep_size");
      superuser(p, "SELECT pg_reload_conf()");
    } catch (const std::exception&) {
      // The server is down: it starts again with the reset file.
    }
  }
};

// Runs `sql` as the owner and returns the rows it changed.
std::uint64_t write(const Pipeline& p, const std::string& sql) {
  pqxx::connection c(p.env.pg);
  pqxx::work tx(c);
  const auto n = tx.exec(sql).affected_rows();
  tx.commit();
  return static_cast<std::uint64_t>(n);
}

}  // namespace

TEST_CASE(
    "a slot invalidated by max_slot_wal_keep_size is replaced: the gap is published, every "
    "table backfilled, and the consumer ends equal to the tables",
    "[changefeed-slot-lost]") {
  Pipeline p("ft_cfsl");
  const std::string s = "\"" + p.schema + "\"";
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("CREATE SCHEMA IF NOT EXISTS " + s);
    tx.exec("CREATE TABLE " + s + ".items (id bigint PRIMARY KEY, v int, note text)");
    tx.exec("INSERT INTO " + s +
            ".items SELECT g, 0, 'row ' || g FROM generate_series(0, 19999) g");
    tx.exec("CREATE TABLE " + s + ".notes (id int PRIMARY KEY, t text)");
    tx.exec("INSERT INTO " + s + ".notes SELECT g, 'note ' || g FROM generate_series(0, 999) g");
    tx.exec("CREATE TABLE " + s + ".scratch (b text)");  // not published: WAL only
    tx.commit();
  }
  ChangeFeedRig rig(p, {"items", "notes"});
  rig.grant_select({"items", "notes"});
  const std::string signals = s + ".changefeed_backfills";
  const std::map<std::string, std::string> env = {
      {"MILLRACE_CHANGEFEED_ON_SLOT_LOST", "backfill"},
      {"MILLRACE_CHANGEFEED_BACKFILL_CHUNK_SIZE", "3000"},
      {"MILLRACE_CHANGEFEED_BACKFILL_POLL_MS", "100"},
      {"MILLRACE_RETRY_BACKOFF_MS", "100"}};
  auto feed = std::make_unique<Child>(rig.start("cf-0", env));
  rig.wait_streaming();
  const auto all_done = [&](std::int64_t requests) {
    pqxx::connection c(p.env.pg);
    pqxx::nontransaction tx(c);
    return tx.exec1("SELECT count(*) FILTER (WHERE state = 'done'), count(*) FROM " + signals)[0]
               .as<std::int64_t>() == requests;
  };
  // The consumer's starting state: both tables, backfilled.
  for (const char* table : {"items", "notes"}) {
    std::string out;
    REQUIRE(run(bin("millrace"),
                {"changefeed", "backfill", "--table", table, "--publication", rig.publication},
                {{"MILLRACE_PG", p.env.pg}, {"MILLRACE_PG_SCHEMA", p.schema}}, &out) == 0);
  }
  REQUIRE(eventually([&] { return all_done(2); }, seconds(120)));
  std::uint64_t streamed = 0;
  streamed += write(p, "UPDATE " + s + ".items SET v = v + 1 WHERE id % 50 = 0");
  streamed += write(p, "DELETE FROM " + s + ".items WHERE id % 97 = 1");
  streamed += write(
      p, "INSERT INTO " + s + ".items SELECT g, 7, 'new' FROM generate_series(30000, 30049) g");
  // Published and confirmed before the stop: what the feed has not read by
  // then would fall into the gap below.
  {
    pqxx::connection c(p.env.pg);
    pqxx::nontransaction tx(c);
    const std::string written = tx.exec1("SELECT pg_current_wal_lsn()::text")[0].as<std::string>();
    REQUIRE(eventually(
        [&] {
          return tx
              .exec1("SELECT coalesce(confirmed_flush_lsn >= " + tx.quote(written) +
                     "::pg_lsn, false) FROM pg_replication_slots WHERE slot_name = " +
                     tx.quote(rig.slot))[0]
              .as<bool>();
        },
        seconds(60)));
  }
  CHECK(stop_cleanly({feed.get()}));

  // While the feed is down: changes it will never stream (updates, deletes
  // and inserts), then more WAL than the slot may keep, and a checkpoint.
  {
    WalKeepGuard guard{p};
    superuser(p, "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
    superuser(p, "SELECT pg_reload_conf()");
    write(p, "UPDATE " + s + ".items SET v = v + 10 WHERE id % 40 = 3");
    write(p, "DELETE FROM " + s + ".items WHERE id % 31 = 2");
    write(p, "INSERT INTO " + s + ".items SELECT g, 9, 'gap' FROM generate_series(40000, 40099) g");
    write(p, "DELETE FROM " + s + ".notes WHERE id % 10 = 0");
    REQUIRE(eventually(
        [&] {
          for (int i = 0; i < 3; ++i) {
            write(p, "INSERT INTO " + s +
                         ".scratch SELECT repeat('x', 1000) FROM generate_series(1, 2000)");
            superuser(p, "SELECT pg_switch_wal()");
          }
          superuser(p, "CHECKPOINT");
          pqxx::connection c(p.env.pg);
          pqxx::nontransaction tx(c);
          const auto r = tx.exec("SELECT wal_status FROM pg_replication_slots WHERE slot_name = " +
                                 tx.quote(rig.slot));
          return r.size() == 1 && r[0][0].c_str() == std::string("lost");
        },
        seconds(60)));
  }

  feed = std::make_unique<Child>(rig.start("cf-1", env));
  // The gap's two backfills (one per published table) run to their end.
  REQUIRE(eventually([&] { return all_done(4); }, seconds(180)));
  CHECK(scrape_metric(feed->metrics_port, "millrace_changefeed_slots_lost_total") == 1);
  streamed += write(p, "UPDATE " + s + ".items SET v = v + 100 WHERE id % 500 = 0");
  std::uint64_t backfilled = 0;
  {
    pqxx::connection c(p.env.pg);
    pqxx::nontransaction tx(c);
    backfilled = tx.exec1("SELECT sum(rows_sent) FROM " + signals)[0].as<std::uint64_t>();
    CHECK(
        tx.exec1("SELECT count(*) FROM " + signals + " WHERE reason LIKE 'slot % lost after %'")[0]
            .as<int>() == 2);
  }
  // Every streamed change, every backfilled row, four ends and two gaps.
  const std::uint64_t expected = streamed + backfilled + 4 + 2;
  const auto records = rig.read_all(expected);
  CHECK(stop_cleanly({feed.get()}));
  check_exactly_once_in_order(records);
  CHECK(records.size() == expected);

  // Applied in commit order. A gap makes every row of its table held so far
  // suspect; a row the backfill that follows (or a change) speaks of is
  // trusted again, and the backfill's end drops the rest.
  const auto ordered = in_commit_order(records);
  std::map<std::string, std::map<long long, std::string>> rebuilt;  // table -> id -> value
  std::map<std::string, std::set<long long>> suspect;
  std::map<std::string, std::int64_t> gap_backfill;
  int gaps = 0;
  for (const auto* rp : ordered) {
    rapidjson::Document d;
    d.Parse(rp->value.c_str());
    const std::string table = d["table"].GetString();
    auto& rows = rebuilt[table];
    if (rp->op == "g") {
      ++gaps;
      CHECK(std::string(d["gap"]["from_lsn"].GetString()) != d["gap"]["to_lsn"].GetString());
      gap_backfill[table] = d["gap"]["backfill"].GetInt64();
      auto& held = suspect[table];
      for (const auto& [id, v] : rows) held.insert(id);
      continue;
    }
    if (rp->op == "e") {
      if (gap_backfill.count(table) != 0 && d["backfill"]["id"].GetInt64() == gap_backfill[table]) {
        for (const auto id : suspect[table]) rows.erase(id);
        suspect[table].clear();
      }
      continue;
    }
    const long long key = d["key"]["id"].GetInt64();
    suspect[table].erase(key);
    if (rp->op == "d") {
      rows.erase(key);
      continue;
    }
    const auto& after = d["after"];
    rows[key] = after.HasMember("v") ? std::to_string(after["v"].GetInt()) : after["t"].GetString();
  }
  CHECK(gaps == 2);
  pqxx::connection c(p.env.pg);
  pqxx::nontransaction tx(c);
  for (const auto& [name, column] :
       std::vector<std::pair<std::string, std::string>>{{"items", "v::text"}, {"notes", "t"}}) {
    std::map<long long, std::string> table;
    for (const auto& row : tx.exec("SELECT id, " + column + " FROM " + s + "." + name)) {
      table[row[0].as<long long>()] = row[1].as<std::string>();
    }
    INFO(name);
    CHECK(rebuilt[p.schema + "." + name] == table);
  }
}
