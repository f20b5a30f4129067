// Network partitions: one sink runs in a network namespace and its link to
// Kafka, or to PostgreSQL, is cut (packets dropped, no resets) for longer
// than the session timeout, then healed. The other sink must go on, and
// the oracle must hold after healing.
#include <catch2/catch.hpp>
#include <map>
#include <pqxx/pqxx>
#include <thread>

#include "fault_report.hpp"
#include "netns.hpp"
#include "pipeline.hpp"

using namespace millrace::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

int port_of(const std::string& address) {
  const auto colon = address.rfind(':');
  const auto end = address.find_first_not_of("0123456789", colon + 1);
  return std::stoi(address.substr(colon + 1, end - colon - 1));
}

// Partitions whose stored offset moved between two snapshots.
int moved(const std::map<std::int32_t, std::int64_t>& before,
          const std::map<std::int32_t, std::int64_t>& after) {
  int n = 0;
  for (const auto& [partition, offset] : after) {
    if (!before.count(partition) || before.at(partition) < offset) ++n;
  }
  return n;
}

enum class Cut { kKafka, kPostgres };

void partition_one_sink(Cut what, int index, const std::string& fault) {
  // ctest runs these cases with --needs-netns, and reports them as skipped
  // where namespaces are unavailable (tests/fault/main.cpp); run by hand on
  // such a host, they fail rather than pass without testing anything.
  if (const auto why = NetNs::unavailable()) FAIL("no network namespaces: " << *why);
  Pipeline p(fault == "partition-kafka" ? "ft_partk" : "ft_partpg");
  const int kafka_port = port_of(p.env.brokers);
  const int pg_port = port_of(p.env.pg.substr(p.env.pg.find('@')));
  NetNs ns(index, {kafka_port, pg_port});
  p.produce(150'000, 9000 + static_cast<std::uint64_t>(index), 0.05);
  const std::map<std::string, std::string> extra = {{"MILLRACE_BATCH_SIZE", "300"},
                                                    {"MILLRACE_BATCH_MS", "50"}};
  auto inside = p.start("millrace-sink", "sink-ns", extra, ns.prefix());
  auto host = p.start_sink("sink-host", extra);
  REQUIRE(eventually([&] { return p.claimed_partitions() == 4; }, seconds(60)));
  REQUIRE(eventually([&] { return p.stored_total() > p.end_total() / 10; }, seconds(120)));
  REQUIRE(p.stored_total() < p.end_total());

  const auto at_cut = p.stored_offsets();
  ns.cut(what == Cut::kKafka ? kafka_port : pg_port);
  // Longer than the Kafka session timeout (6 s) and every PostgreSQL bound.
  std::this_thread::sleep_for(seconds(20));
  const auto during = p.stored_offsets();
  CHECK(inside.running());
  CHECK(host.running());
  if (what == Cut::kKafka) {
    // The group gave every partition to the member it can still reach.
    CHECK(moved(at_cut, during) == 4);
  } else {
    // The cut-off member keeps its partitions (it still heartbeats) but
    // cannot commit them; the other member's partitions go on regardless of
    // what the cut-off one's open transaction holds.
    CHECK(moved(at_cut, during) >= 1);
  }
  ns.heal(what == Cut::kKafka ? kafka_port : pg_port);
  Stopwatch recovery;
  REQUIRE(p.wait_caught_up(seconds(300)));
  const double recovery_s = recovery.seconds();
  const auto v = p.verify();
  record_fault({fault, v.produced, v.lost, v.duplicated, v.unaccounted, recovery_s});
  CHECK(stop_cleanly({&inside, &host}));
}

}  // namespace

TEST_CASE("a sink cut off from Kafka past its session timeout loses nothing", "[partition-kafka]") {
  partition_one_sink(Cut::kKafka, 41, "partition-kafka");
}

TEST_CASE("a sink cut off from PostgreSQL past every session bound loses nothing",
          "[partition-pg]") {
  partition_one_sink(Cut::kPostgres, 42, "partition-pg");
}
