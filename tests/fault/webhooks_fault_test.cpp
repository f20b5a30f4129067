// millrace-webhooks SIGKILLed at random points while changes flow, with a
// receiver that refuses some first attempts: no change is lost, and a
// receiver that deduplicates by webhook-id has each exactly once, in commit
// order across all keys (the endpoint's default ordering).
#include <catch2/catch.hpp>
#include <csignal>
#include <pqxx/pqxx>
#include <random>
#include <thread>

#include "changes.hpp"
#include "fault_report.hpp"
#include "harness.hpp"
#include "millrace/webhooks/signature.hpp"
#include "pipeline.hpp"
#include "receiver.hpp"
#include "webhooks.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

std::size_t unique_accepted(const Receiver& rx) {
  const auto ids = rx.accepted_ids("/hook");
  return std::set<std::string>(ids.begin(), ids.end()).size();
}

}  // namespace

TEST_CASE("the webhooks service SIGKILLed five times loses no change", "[webhooks-kill]") {
  Pipeline p("ft_whkill");
  // The schema migrated, with a table of its own that the change feed
  // publishes, streaming.
  migrate_with_table(p, "ledger (id bigint PRIMARY KEY, v int)");
  ChangeFeedRig rig(p, {"ledger"});
  auto feed = rig.start("changefeed");
  rig.wait_streaming();

  Receiver rx;
  const auto secret = webhooks::new_secret();
  rx.set_secrets("/hook", {secret});
  // The first attempt of about one change in a hundred is refused.
  rx.script("/hook", [](const Received& r, int repeats) {
    const bool refuse = repeats == 0 && std::hash<std::string>{}(r.id) % 100 == 0;
    return Answer{refuse ? 500 : 200, std::nullopt};
  });
  add_endpoint(p, rx.url("/hook"), secret);
  // Small batches, so kills land between and inside commits of the queue.
  const std::map<std::string, std::string> env = {{"MILLRACE_BATCH_SIZE", "200"},
                                                  {"MILLRACE_WEBHOOKS_MAX_PER_CLAIM", "20"}};
  const std::string schedule = "200ms,500ms,1s,2s,4s,8s,16s,32s";
  auto hooks = std::make_unique<Child>(start_webhooks(p, rig, "wh-0", schedule, env));

  // 6,000 changes: 300 transactions of 20 inserts, about 15 s of writing.
  constexpr std::size_t kTotal = 6000;
  std::thread writer([&] {
    pqxx::connection c(p.env.pg);
    for (int t = 0; t < 300; ++t) {
      pqxx::work tx(c);
      tx.exec("INSERT INTO " + p.schema + ".ledger SELECT g, 0 FROM generate_series(" +
              std::to_string(t * 20) + ", " + std::to_string(t * 20 + 19) + ") g");
      tx.commit();
      std::this_thread::sleep_for(milliseconds(50));
    }
  });
  std::mt19937 rng(23);
  int kills = 0;
  for (; kills < 5; ++kills) {
    // After each sixth of the changes arrived, at a random moment within
    // the next 300 ms.
    const std::size_t mark = kTotal * static_cast<std::size_t>(kills + 1) / 6;
    REQUIRE(eventually([&] { return unique_accepted(rx) >= mark; }, seconds(180)));
    std::this_thread::sleep_for(milliseconds(rng() % 300));
    hooks->signal(SIGKILL);
    CHECK(hooks->wait(seconds(10)) == 128 + SIGKILL);
    hooks = std::make_unique<Child>(
        start_webhooks(p, rig, "wh-" + std::to_string(kills + 1), schedule, env));
  }
  writer.join();
  Stopwatch recovery;
  REQUIRE(eventually([&] { return unique_accepted(rx) >= kTotal; }, seconds(300)));
  const double recovery_s = recovery.seconds();
  CHECK(stop_cleanly({hooks.get()}));
  const auto records = rig.read_all(kTotal);
  CHECK(stop_cleanly({&feed}));
  REQUIRE(records.size() == kTotal);

  for (const auto& r : rx.requests("/hook")) CHECK_FALSE(r.verified_with.empty());
  const auto accepted = rx.accepted_ids("/hook");
  const auto order = order_report(accepted, records);
  INFO("first inversion: " << order.first_inversion);
  CHECK(order.missing == 0);
  CHECK(order.unknown == 0);
  CHECK(order.out_of_key_order == 0);
  CHECK(order.out_of_commit_order == 0);
  const std::size_t resent = order.repeats;
  const std::set<std::string> unique(accepted.begin(), accepted.end());
  const std::uint64_t lost = kTotal - std::min(kTotal, unique.size());
  CHECK(lost == 0);
  CHECK(kills == 5);
  // Re-sent requests are the at-least-once side of a kill (a request in
  // flight, or sent and not yet recorded); webhook-id makes them harmless.
  record_fault({"webhooks-kill", kTotal, lost, 0, 0, recovery_s});
  std::printf("webhooks-kill: %zu requests re-sent after kills, deduplicated by webhook-id\n",
              resent);
}
