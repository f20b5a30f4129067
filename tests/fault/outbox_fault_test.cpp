// The outbox feed (millrace-changefeed --format outbox) SIGKILLed twice
// while three services commit events: each transaction inserts 1 to 5
// outbox rows (and often deletes them again, as services do), one in seven
// rolls back. A read_committed consumer of the event topics must see every
// committed event once, each aggregate's in the order they were committed,
// and nothing of a rolled-back transaction.
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <csignal>
#include <map>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <thread>

#include "changes.hpp"
#include "fault_report.hpp"
#include "harness.hpp"
#include "millrace/changefeed/admin.hpp"
#include "millrace/kafka/admin.hpp"
#include "millrace/kafka/consumer.hpp"
#include "pipeline.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr int kServices = 3;
constexpr int kAggregates = 12;  // per service, each owned by one service
const std::vector<std::string> kTypes = {"order", "customer"};

// One service: `transactions` transactions, `pace` apart, each of 1 to 5
// events of its own aggregates, which it numbers in commit order: aggregate
// a's n-th committed event has "n": n. A rolled-back transaction's events
// carry "rolled_back": true and take no number. No Catch2 here (not the
// main thread): join() reports.
class Service {
 public:
  Service(const Pipeline& p, int index, int transactions, milliseconds pace)
      : thread_([this, conninfo = p.env.pg, table = "\"" + p.schema + "\".outbox", index,
                 transactions, pace] {
          try {
            std::mt19937 rng(static_cast<unsigned>(100 + index));
            std::map<std::string, int> next;  // per aggregate
            pqxx::connection c(conninfo);
            for (int t = 0; t < transactions; ++t) {
              const bool rollback = t % 7 == 3;
              const int events = 1 + static_cast<int>(rng() % 5);
              std::map<std::string, int> taken = next;
              pqxx::work tx(c);
              for (int e = 0; e < events; ++e) {
                const auto& type = kTypes[rng() % kTypes.size()];
                const std::string agg =
                    "s" + std::to_string(index) + "-" + std::to_string(rng() % kAggregates);
                const std::string slot = type + "/" + agg;
                std::string payload = "{\"agg\": \"" + slot + "\"";
                payload += rollback ? ", \"rolled_back\": true}"
                                    : ", \"n\": " + std::to_string(taken[slot]++) + "}";
                tx.exec_params("INSERT INTO " + table +
                                   " (id, aggregatetype, aggregateid, type, payload) VALUES "
                                   "(gen_random_uuid(), $1, $2, 'Noted', $3::jsonb)",
                               type, agg, payload);
              }
              // Most services delete their rows at once; the WAL keeps them.
              if (t % 2 == 0) {
                tx.exec("DELETE FROM " + table + " WHERE aggregateid LIKE 's" +
                        std::to_string(index) + "-%'");
              }
              if (rollback) {
                tx.abort();
                continue;
              }
              tx.commit();
              next = std::move(taken);
              committed_ += static_cast<std::uint64_t>(events);
              std::this_thread::sleep_for(pace);
            }
          } catch (const std::exception& e) {
            error_ = e.what();
          }
          done_ = true;
        }) {}
  ~Service() {
    if (thread_.joinable()) thread_.join();
  }
  std::uint64_t join() {
    thread_.join();
    INFO(error_);
    REQUIRE(error_.empty());
    return committed_;
  }
  std::uint64_t committed() const { return committed_; }
  bool done() const { return done_; }

 private:
  std::atomic<std::uint64_t> committed_{0};
  std::atomic<bool> done_{false};
  std::string error_;
  std::thread thread_;
};

struct Event {
  std::string topic, key, id, agg;
  std::int32_t partition = 0;
  int n = -1;  // -1: rolled back
};

// Every event on `topics` as read_committed: waits until `at_least` came,
// then until none more comes for 3 s.
std::vector<Event> read_events(const Pipeline& p, const std::vector<std::string>& topics,
                               std::size_t at_least) {
  std::vector<Event> out;
  read_committed(p.env.brokers, topics, at_least, seconds(180), [&](const kafka::Message& msg) {
    Event e;
    e.topic = std::string(msg.topic());
    e.partition = msg.partition();
    e.key = std::string(msg.key().value_or(""));
    e.id = std::string(msg.header("id").value_or(""));
    const std::string value(msg.payload());
    rapidjson::Document d;
    d.Parse(value.c_str());
    INFO(value);
    REQUIRE(d.IsObject());
    e.agg = d["agg"].GetString();
    e.n = d.HasMember("n") ? d["n"].GetInt() : -1;
    out.push_back(std::move(e));
  });
  return out;
}

// What the topic's partitions hold, control records included: 0 when
// nothing was ever written to it.
std::int64_t written(const Pipeline& p, const std::string& topic, std::int32_t partitions) {
  NoRebalance listener;
  kafka::ConsumerConfig cc;
  cc.brokers = p.env.brokers;
  cc.group_id = unique_name("outbox_watermarks");
  kafka::Consumer reader(cc, &listener);
  std::int64_t n = 0;
  for (std::int32_t i = 0; i < partitions; ++i) {
    n += reader.watermarks(topic, i, milliseconds(10000)).second;
  }
  return n;
}

}  // namespace

TEST_CASE("the outbox feed SIGKILLed twice publishes every committed event once, in order",
          "[outbox-kill]") {
  Pipeline p("ft_obxkill");
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("CREATE SCHEMA IF NOT EXISTS " + tx.quote_name(p.schema));
    tx.commit();
    changefeed::OutboxInstall in;
    in.schema = p.schema;
    in.publication = p.schema + "_pub";
    changefeed::install_outbox(c, in);
  }
  ChangeFeedRig rig(p, {"outbox"});
  std::vector<std::string> topics;
  for (const auto& t : kTypes) {
    topics.push_back(p.topic + ".ev." + t);
    kafka::create_topic(p.env.brokers, topics.back(), 4, 1, seconds(30));
  }
  const std::map<std::string, std::string> env = {
      {"MILLRACE_CHANGEFEED_FORMAT", "outbox"},
      {"MILLRACE_CHANGEFEED_OUTBOX_TOPIC", p.topic + ".ev.${routedByValue}"},
      {"MILLRACE_CHANGEFEED_MAX_BATCH_CHANGES", "50"},
      {"MILLRACE_RETRY_BACKOFF_MS", "100"}};
  auto feed = std::make_unique<Child>(rig.start("obx-0", env));
  rig.wait_streaming();
  constexpr int kTransactions = 300;
  std::vector<std::unique_ptr<Service>> services;
  for (int i = 0; i < kServices; ++i) {
    services.push_back(std::make_unique<Service>(p, i, kTransactions, milliseconds(30)));
  }
  const auto committed_now = [&] {
    std::uint64_t n = 0;
    for (const auto& s : services) n += s->committed();
    return n;
  };
  // About 3 events a transaction, 6 of 7 committed.
  const std::uint64_t expected = kServices * kTransactions * 3 * 6 / 7;
  std::mt19937 rng(7);
  for (int kill = 0; kill < 2; ++kill) {
    const std::uint64_t mark = expected * static_cast<std::uint64_t>(kill + 1) / 3;
    const auto until = std::chrono::steady_clock::now() + seconds(120);
    while (committed_now() < mark && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    std::this_thread::sleep_for(milliseconds(rng() % 200));
    feed->signal(SIGKILL);
    CHECK(feed->wait(seconds(10)) == 128 + SIGKILL);
    // Killed while the services still commit.
    CHECK(std::any_of(services.begin(), services.end(), [](const auto& s) { return !s->done(); }));
    feed = std::make_unique<Child>(rig.start("obx-" + std::to_string(kill + 1), env));
  }
  std::uint64_t committed = 0;
  for (auto& s : services) committed += s->join();
  Stopwatch recovery;
  const auto events = read_events(p, topics, committed);
  const double recovery_s = recovery.seconds();
  CHECK(stop_cleanly({feed.get()}));

  std::set<std::string> ids;
  std::map<std::string, int> next;  // per type/aggregate
  std::map<std::string, std::int32_t> partition_of;
  std::uint64_t duplicated = 0, rolled_back = 0, out_of_order = 0;
  for (const auto& e : events) {
    if (!ids.insert(e.id).second) ++duplicated;
    if (e.n < 0) {
      ++rolled_back;
      continue;
    }
    // Per partition, in the order read: each aggregate's events in order.
    if (e.n != next[e.agg]) ++out_of_order;
    next[e.agg] = e.n + 1;
    const auto [it, first] = partition_of.emplace(e.agg, e.partition);
    CHECK((first || it->second == e.partition));
    CHECK(e.topic == p.topic + ".ev." + e.agg.substr(0, e.agg.find('/')));
    CHECK(e.key == e.agg.substr(e.agg.find('/') + 1));
  }
  CHECK(duplicated == 0);
  CHECK(rolled_back == 0);
  CHECK(out_of_order == 0);
  CHECK(events.size() == committed);
  // No dead letters: the feed's own topic holds nothing.
  CHECK(written(p, rig.topic, 4) == 0);
  const std::uint64_t lost = committed > ids.size() ? committed - ids.size() : 0;
  record_fault({"outbox-kill", committed, lost, duplicated, 0, recovery_s});
}
