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
#include <map>
#include <pqxx/pqxx>
#include <random>
#include <thread>

#include "changes.hpp"
#include "fault_report.hpp"
#include "harness.hpp"
#include "pipeline.hpp"

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

  // Applied in commit order (the ids' order across the topic: a key change
  // is one record, on the new key's partition, that also ends the old key,
  // so per-partition order alone does not order it against the old key's
  // records): what the consumer ends with.
  std::vector<const ChangeRecord*> ordered;
  for (const auto& r : records) ordered.push_back(&r);
  std::sort(ordered.begin(), ordered.end(),
            [](const ChangeRecord* a, const ChangeRecord* b) { return a->id < b->id; });
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
