// A member frozen inside its transaction (SIGSTOP after its fence UPDATE,
// before COMMIT) holds row locks on its partitions' offsets. Bounded
// sessions must let the rest of the group take over within those bounds,
// and the frozen member must rejoin harmlessly when it thaws.
#include <catch2/catch.hpp>
#include <csignal>
#include <map>
#include <pqxx/pqxx>
#include <thread>

#include "fault_report.hpp"
#include "pipeline.hpp"

using namespace millrace::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {}  // namespace

TEST_CASE(
    "a sink frozen inside its transaction longer than the session timeout does not hold the "
    "group, and rejoins harmlessly",
    "[frozen-member]") {
  constexpr std::int64_t kCount = 150'000;
  Pipeline p("ft_frozen");
  p.produce(kCount, 8080, 0.05);
  // Small batches and a low rate of commits of a whole partition set: the
  // freeze lands on a transaction that holds offset rows.
  const std::map<std::string, std::string> extra = {{"MILLRACE_BATCH_SIZE", "300"},
                                                    {"MILLRACE_BATCH_MS", "50"}};
  auto a = p.start_sink("sink-a", extra);
  auto b = p.start_sink("sink-b", extra);
  std::map<int, Child*> by_pid = {{a.pid(), &a}, {b.pid(), &b}};
  // Both members own partitions before the freeze.
  const auto until = std::chrono::steady_clock::now() + seconds(60);
  while (p.claimed_partitions() < 4 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  REQUIRE(p.claimed_partitions() == 4);

  // Catch a member between its fence UPDATE and its COMMIT: a backend of
  // application 'sink' holding a transaction id (it has written).
  Child* frozen = nullptr;
  {
    pqxx::connection c(p.env.pg);
    const auto deadline = std::chrono::steady_clock::now() + seconds(60);
    while (frozen == nullptr && std::chrono::steady_clock::now() < deadline) {
      pqxx::nontransaction tx(c);
      for (const auto& r : tx.exec("SELECT client_port FROM pg_stat_activity WHERE "
                                   "application_name = 'sink' AND backend_xid IS NOT NULL")) {
        const int pid = pid_of_client_port(r[0].as<int>());
        const auto it = by_pid.find(pid);
        if (it == by_pid.end()) continue;
        it->second->signal(SIGSTOP);
        // Still inside it? The COMMIT may have won the race: thaw and retry.
        const auto still = tx.exec_params1(
                                 "SELECT count(*) FROM pg_stat_activity WHERE client_port = $1 AND "
                                 "backend_xid IS NOT "
                                 "NULL",
                                 r[0].as<int>())[0]
                               .as<int>();
        if (still == 1) {
          frozen = it->second;
          break;
        }
        it->second->signal(SIGCONT);
      }
    }
  }
  REQUIRE(frozen != nullptr);
  Child* other = frozen == &a ? &b : &a;
  Stopwatch takeover;
  const auto at_freeze = p.stored_offsets();

  // The group goes on without it: within the Kafka session timeout (6 s) the
  // other member is given every partition, and within the bounded sessions
  // (lock_timeout, idle_in_transaction_session_timeout 15 s) it claims them
  // from under the frozen transaction and commits.
  bool all_moved = false;
  while (!all_moved && takeover.seconds() < 60) {
    std::this_thread::sleep_for(milliseconds(250));
    const auto now = p.stored_offsets();
    all_moved = true;
    for (const auto& [partition, offset] : at_freeze) {
      const std::int64_t end = p.end_offsets().count(partition) ? p.end_offsets().at(partition) : 0;
      if (offset < end && now.at(partition) <= offset) all_moved = false;
    }
  }
  const double takeover_s = takeover.seconds();
  CHECK(all_moved);
  CHECK(other->running());
  // The frozen member stays frozen a while longer than the session bounds.
  while (takeover.seconds() < 25) std::this_thread::sleep_for(milliseconds(250));
  frozen->signal(SIGCONT);

  REQUIRE(p.wait_caught_up(seconds(300)));
  const auto v = p.verify();
  INFO("the other member took over every partition in " << takeover_s << " s");
  record_fault({"frozen-member", v.produced, v.lost, v.duplicated, v.unaccounted, takeover_s});
  CHECK(stop_cleanly({&a, &b}));
}

// The freeze that PostgreSQL's own bounds miss: a member stopped in the
// middle of a COPY. Its session is active, waiting for the rest of the data,
// so neither idle_in_transaction_session_timeout nor statement_timeout ends
// it, and its transaction keeps the offset rows locked. Played here by a
// session that fences every offset row, starts a COPY into store_events and
// then sends nothing more, for as long as the test runs.
TEST_CASE("a member stuck in the middle of a COPY does not hold the group", "[frozen-copy]") {
  constexpr std::int64_t kCount = 40'000;
  Pipeline p("ft_frozencopy");
  p.produce(kCount / 2, 9090, 0.05);
  {
    auto first = p.start_sink("sink-first");
    REQUIRE(p.wait_caught_up(seconds(120)));
    REQUIRE(stop_cleanly({&first}));
  }
  // The stuck member: application_name as a sink's, in the pipeline's schema.
  pqxx::connection stuck(p.env.pg + (p.env.pg.find('?') == std::string::npos ? "?" : "&") +
                         "application_name=sink");
  pqxx::work tx(stuck);
  tx.exec("SET search_path TO " + tx.quote_name(p.schema));
  const auto fenced =
      tx.exec_params("UPDATE consumer_offsets SET next_offset = next_offset WHERE group_id = $1",
                     p.group)
          .affected_rows();
  REQUIRE(fenced == 4);
  pqxx::stream_to copy(tx, "store_events");  // COPY ... FROM STDIN, then silence

  p.produce(kCount / 2, 9091, 0.05);
  Stopwatch takeover;
  auto next = p.start_sink("sink-next");
  // Its claim waits past lock_timeout (5 s), ends the stuck session once it
  // has waited on its client past the idle-in-transaction bound (15 s), and
  // consumes on from the stored offsets.
  REQUIRE(p.wait_caught_up(seconds(120)));
  const double takeover_s = takeover.seconds();
  const auto v = p.verify();
  INFO("the next member took over in " << takeover_s << " s");
  record_fault({"frozen-copy", v.produced, v.lost, v.duplicated, v.unaccounted, takeover_s});
  CHECK(read_file(p.log_dir + "/" + p.topic + ".sink-next.log").find("ended PostgreSQL session") !=
        std::string::npos);
  CHECK(stop_cleanly({&next}));
}
