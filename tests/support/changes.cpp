#include "changes.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <iostream>
#include <pqxx/pqxx>
#include <set>

#include "millrace/core/failure.hpp"
#include "millrace/kafka/admin.hpp"
#include "millrace/kafka/consumer.hpp"

namespace millrace::testing {

using std::chrono::milliseconds;
using std::chrono::seconds;

ChangeFeedRig::ChangeFeedRig(Pipeline& pipeline, const std::vector<std::string>& tables,
                             std::int32_t partitions)
    : publication(pipeline.schema + "_pub"),
      slot(pipeline.schema + "_slot"),
      topic(pipeline.topic + ".changes"),
      pipeline_(pipeline) {
  // At a failure: how far PostgreSQL decoded and sent this slot, against
  // the WAL's end, and what its walsender waits on. A change the feed never
  // published is then either not yet sent (the server's side) or sent and
  // not published (the feed's).
  // As the feed's own role: its walsender's activity is visible to it.
  slot_note_ = add_failure_note([pg = pipeline.env.changefeed_pg, slot = slot]() -> std::string {
    try {
      pqxx::connection c(pg);
      pqxx::nontransaction tx(c);
      std::string out = "slot " + slot + ":";
      const auto r = tx.exec(
          "SELECT pg_current_wal_lsn()::text, s.active_pid, s.restart_lsn::text, "
          "s.confirmed_flush_lsn::text, r.state, r.sent_lsn::text, r.write_lsn::text, "
          "r.flush_lsn::text, a.wait_event_type, a.wait_event, a.backend_xmin::text, "
          "st.spill_txns, st.spill_bytes, st.total_txns, st.total_bytes "
          "FROM pg_replication_slots s "
          "LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid "
          "LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid "
          "LEFT JOIN pg_stat_replication_slots st ON st.slot_name = s.slot_name "
          "WHERE s.slot_name = " +
          tx.quote(slot));
      if (r.empty()) return out + " not found";
      const char* names[] = {"wal_end",     "active_pid", "restart_lsn", "confirmed_flush",
                             "state",       "sent_lsn",   "write_lsn",   "flush_lsn",
                             "wait_type",   "wait_event", "xmin",        "spill_txns",
                             "spill_bytes", "total_txns", "total_bytes"};
      for (int i = 0; i < 15; ++i) {
        out += std::string(" ") + names[i] + "=" + (r[0][i].is_null() ? "null" : r[0][i].c_str());
      }
      return out;
    } catch (const std::exception& e) {
      return "slot " + slot + ": not readable: " + e.what();
    }
  });
  publish(tables, {});
  kafka::create_topic(pipeline.env.brokers, topic, partitions, 1, seconds(30));
}

void ChangeFeedRig::grant_select(const std::vector<std::string>& tables) {
  // The role the feed logs in as: the user of its connection URL.
  const std::string& url = pipeline_.env.changefeed_pg;
  const auto from = url.find("://") + 3;
  const std::string role = url.substr(from, url.find_first_of(":@", from) - from);
  publish(tables, {"--grant-select", role});
}

void ChangeFeedRig::publish(const std::vector<std::string>& tables,
                            const std::vector<std::string>& extra_args) {
  std::string list;
  for (const auto& t : tables) list += (list.empty() ? "" : ",") + t;
  std::vector<std::string> args = {"changefeed", "publish",  "--publication",
                                   publication,  "--tables", list};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::string out;
  const int rc =
      run(bin("millrace"), args,
          {{"MILLRACE_PG", pipeline_.env.pg}, {"MILLRACE_PG_SCHEMA", pipeline_.schema}}, &out);
  INFO(out);
  REQUIRE(rc == 0);
}

ChangeFeedRig::~ChangeFeedRig() {
  std::string out;
  run(bin("millrace"), {"changefeed", "drop-slot", "--slot", slot},
      {{"MILLRACE_CHANGEFEED_PG", pipeline_.env.changefeed_pg}}, &out);
  try {
    pqxx::connection c(pipeline_.env.pg);
    pqxx::nontransaction tx(c);
    tx.exec("DROP PUBLICATION IF EXISTS " + tx.quote_name(publication));
  } catch (const std::exception&) {
    // Best effort: a failed test may have left the server down.
  }
  try {
    kafka::delete_topics(pipeline_.env.brokers, {topic}, seconds(10));
  } catch (const core::InfraError& e) {
    std::cerr << "change feed rig: topic " << topic << " left: " << e.what() << "\n";
  }
}

Child ChangeFeedRig::start(const std::string& name,
                           const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env = {
      {"MILLRACE_CHANGEFEED_PG", pipeline_.env.changefeed_pg},
      {"MILLRACE_CHANGES_TOPIC", topic},
      {"MILLRACE_CHANGEFEED_SLOT", slot},
      {"MILLRACE_CHANGEFEED_PUBLICATION", publication},
  };
  // librdkafka's transaction steps in the feed's log: a failed test prints
  // its tail (failure_logs.cpp), which then says where a publish waited.
  env["MILLRACE_KAFKA_PROPERTIES"] = "debug=eos";
  for (const auto& [k, v] : extra) env[k] = v;
  return pipeline_.start("millrace-changefeed", name, env);
}

void ChangeFeedRig::wait_streaming() const {
  pqxx::connection c(pipeline_.env.pg);
  REQUIRE(eventually(
      [&] {
        pqxx::nontransaction tx(c);
        // Active is not enough: a slot being created is active while it
        // waits for the transactions running then to end, and what commits
        // before it is consistent is never decoded. Its confirmed position
        // is set once it is.
        return tx.exec(
                     "SELECT 1 FROM pg_replication_slots WHERE active AND "
                     "confirmed_flush_lsn IS NOT NULL AND slot_name = " +
                     tx.quote(slot))
                   .size() == 1;
      },
      seconds(60)));
}

std::size_t read_committed(const std::string& brokers, const std::vector<std::string>& topics,
                           std::size_t at_least, std::chrono::seconds timeout,
                           const std::function<void(const kafka::Message&)>& take) {
  NoRebalance listener;
  kafka::ConsumerConfig cc;
  cc.brokers = brokers;
  cc.group_id = unique_name("committed_reader");
  cc.extra = {{"isolation.level", "read_committed"}};
  kafka::Consumer reader(cc, &listener);
  reader.subscribe(topics);
  std::size_t read = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto last = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline) {
    auto msg = reader.poll(milliseconds(200));
    if (!msg) {
      if (read >= at_least && std::chrono::steady_clock::now() - last > seconds(3)) break;
      continue;
    }
    last = std::chrono::steady_clock::now();
    take(*msg);
    ++read;
  }
  reader.close();
  REQUIRE(read >= at_least);
  return read;
}

std::vector<ChangeRecord> ChangeFeedRig::read_all(std::size_t at_least,
                                                  std::chrono::seconds timeout) const {
  std::vector<ChangeRecord> out;
  read_committed(pipeline_.env.brokers, {topic}, at_least, timeout, [&](const kafka::Message& msg) {
    ChangeRecord r;
    r.partition = msg.partition();
    r.offset = msg.offset();
    r.key = std::string(msg.key().value_or(""));
    r.value = std::string(msg.payload());
    r.header_id = std::string(msg.header("millrace.change_id").value_or(""));
    rapidjson::Document d;
    d.Parse(r.value.c_str());
    INFO(r.value);
    REQUIRE_FALSE(d.HasParseError());
    r.id = d["id"].GetString();
    r.op = d["op"].GetString();
    r.table = d["table"].GetString();
    out.push_back(std::move(r));
  });
  return out;
}

std::vector<const ChangeRecord*> in_commit_order(const std::vector<ChangeRecord>& records) {
  std::vector<const ChangeRecord*> out;
  out.reserve(records.size());
  for (const auto& r : records) out.push_back(&r);
  std::sort(out.begin(), out.end(),
            [](const ChangeRecord* a, const ChangeRecord* b) { return a->id < b->id; });
  return out;
}

std::vector<std::string> check_exactly_once_in_order(const std::vector<ChangeRecord>& records) {
  std::set<std::string> seen;
  std::map<std::string, std::pair<std::int32_t, std::string>> last_by_key;  // partition, id
  std::size_t duplicates = 0, out_of_order = 0, bad_headers = 0;
  std::vector<std::string> ids;
  for (const auto& r : records) {
    if (!seen.insert(r.id).second) ++duplicates;
    if (r.header_id != r.id) ++bad_headers;
    const auto it = last_by_key.find(r.key);
    if (it != last_by_key.end()) {
      if (it->second.first != r.partition || !(it->second.second < r.id)) ++out_of_order;
    }
    last_by_key[r.key] = {r.partition, r.id};
    ids.push_back(r.id);
  }
  CHECK(duplicates == 0);
  CHECK(bad_headers == 0);
  CHECK(out_of_order == 0);
  return ids;
}

}  // namespace millrace::testing
