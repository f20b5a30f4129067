#include "direct.hpp"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "scripted_sender.hpp"

using namespace millrace::webhooks;
using namespace millrace::webhooks::detail;
using namespace std::chrono_literals;

namespace {

ChangeFacts change(std::string id) {
  ChangeFacts c;
  c.id = std::move(id);
  c.table = "public.items";
  c.op = "c";
  c.commit_time = "2026-12-03T07:00:00Z";
  c.body = R"({"type":"public.items.created"})";
  return c;
}

Claim target(std::int64_t endpoint, bool commit_order) {
  Claim c;
  c.endpoint = endpoint;
  c.url = "http://receiver.example/hook";
  c.secrets = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  c.commit_order = commit_order;
  return c;
}

DispatchRules rules() {
  DispatchRules r;
  r.schedule = parse_schedule("5s,5m");
  r.user_agent = "millrace-webhooks/1";
  r.now_s = [] { return std::int64_t{1'800'000'000}; };
  return r;
}

// A run of `ids`' deliveries, all released, in that order.
DirectRun run_of(std::int64_t endpoint, const std::vector<std::string>& ids) {
  DirectRun run;
  run.target = target(endpoint, true);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    run.target.deliveries.push_back({static_cast<std::int64_t>(i), ids[i], "{}", 0, 0});
    run.queue.push_back(i);
  }
  return run;
}

std::vector<std::string> recorded_ids(const DirectRun& run) {
  std::vector<std::string> out;
  for (const auto& r : run.recorded) out.push_back(r.delivery->change_id);
  return out;
}

}  // namespace

TEST_CASE("a batch's run goes in commit order up to the first change the marks hold back") {
  // Record order is not commit order across partitions; the marks released
  // the two lowest ids only, so the third and the fourth stay queued.
  const std::vector<ChangeFacts> facts{change("0000000000000003"), change("0000000000000001"),
                                       change("0000000000000004"), change("0000000000000002")};
  std::vector<const ChangeFacts*> changes;
  for (const auto& f : facts) changes.push_back(&f);
  std::vector<Enqueued> enqueued(4);
  enqueued[0].direct = {{7, false}, {9, true}};
  enqueued[1].direct = {{7, true}, {9, true}};
  enqueued[2].direct = {{9, true}};
  enqueued[3].direct = {{7, true}, {9, true}};
  // 8 was not held (another member has it, or a worker): never in a run.
  enqueued[3].direct.push_back({8, true});
  const std::map<std::int64_t, Claim> held{{7, target(7, true)}, {9, target(9, false)}};
  const auto runs = plan_runs(held, changes, enqueued, {});
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].target.endpoint == 7);
  std::vector<std::string> sent;
  for (const auto& d : runs[0].target.deliveries) sent.push_back(d.change_id);
  CHECK(sent == std::vector<std::string>{"0000000000000001", "0000000000000002"});
  CHECK(runs[0].queue == std::vector<std::size_t>{1, 3, 0});
  // In key order: record order, every one.
  CHECK(runs[1].target.endpoint == 9);
  CHECK(runs[1].queue == std::vector<std::size_t>{0, 1, 2, 3});
  CHECK(runs[1].target.deliveries.size() == 4);
  CHECK(runs[1].target.deliveries[0].committed_s == Approx(1'796'281'200.0));
}

TEST_CASE("a queue taken over goes before, or among, the batch's own, in queue order") {
  // Two pending deliveries of commit-order endpoint 7 held back by an
  // earlier batch's marks (ids 2 and 5), which this batch's release; one of
  // key-order endpoint 9 (row 40) and another (row 31), enqueued before.
  const std::vector<ChangeFacts> facts{change("0000000000000006"), change("0000000000000003")};
  const std::vector<const ChangeFacts*> changes{&facts[0], &facts[1]};
  std::vector<Enqueued> enqueued(2);
  enqueued[0].direct = {{7, true}, {9, true}};
  enqueued[1].direct = {{7, true}};
  const std::vector<Adopted> adopted{{7, 12, "0000000000000005", "{\"n\":5}", 1.5, true},
                                     {7, 11, "0000000000000002", "{\"n\":2}", 1.0, true},
                                     {9, 40, "0000000000000001", "{}", 0, true},
                                     {9, 31, "0000000000000004", "{}", 0, true}};
  const std::map<std::int64_t, Claim> held{{7, target(7, true)}, {9, target(9, false)}};
  const auto runs = plan_runs(held, changes, enqueued, adopted);
  REQUIRE(runs.size() == 2);
  std::vector<std::string> sent;
  std::vector<std::int64_t> ids;
  for (const auto& d : runs[0].target.deliveries) {
    sent.push_back(d.change_id);
    ids.push_back(d.id);
  }
  // Commit order: every one by change id; a pending one's id is -1 - its
  // index in `adopted`, a batch's its change's index.
  CHECK(sent == std::vector<std::string>{"0000000000000002", "0000000000000003", "0000000000000005",
                                         "0000000000000006"});
  CHECK(ids == std::vector<std::int64_t>{-2, 1, -1, 0});
  CHECK(runs[0].target.deliveries[0].body == "{\"n\":2}");
  CHECK(runs[0].target.deliveries[0].committed_s == 1.0);
  // The queue to store holds the batch's only, in queue order.
  CHECK(runs[0].queue == std::vector<std::size_t>{1, 0});
  // Key order: the pending ones by row id, then the batch's.
  sent.clear();
  for (const auto& d : runs[1].target.deliveries) sent.push_back(d.change_id);
  CHECK(sent ==
        std::vector<std::string>{"0000000000000004", "0000000000000001", "0000000000000006"});
}

TEST_CASE("a pending delivery the marks still hold back stops the run there") {
  const std::vector<ChangeFacts> facts{change("0000000000000006")};
  const std::vector<const ChangeFacts*> changes{&facts[0]};
  std::vector<Enqueued> enqueued(1);
  enqueued[0].direct = {{7, true}};
  const std::vector<Adopted> adopted{{7, 12, "0000000000000005", "{}", 0, false}};
  const auto runs = plan_runs({{7, target(7, true)}}, changes, enqueued, adopted);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].target.deliveries.empty());
  CHECK(runs[0].queue == std::vector<std::size_t>{0});
  // An endpoint whose only deliveries are pending ones still gets a run.
  const auto alone = plan_runs({{7, target(7, true)}}, changes, std::vector<Enqueued>(1),
                               {{7, 12, "0000000000000005", "{}", 0, true}});
  REQUIRE(alone.size() == 1);
  REQUIRE(alone[0].target.deliveries.size() == 1);
  CHECK(alone[0].target.deliveries[0].id == -1);
  CHECK(alone[0].queue.empty());
}

TEST_CASE("commit order compares change ids bytewise, as PostgreSQL's COLLATE \"C\"") {
  const std::vector<ChangeFacts> facts{change("\xc3\xa9"), change("z")};
  const std::vector<const ChangeFacts*> changes{&facts[0], &facts[1]};
  std::vector<Enqueued> enqueued(2);
  enqueued[0].direct = {{1, true}};
  enqueued[1].direct = {{1, true}};
  const auto runs = plan_runs({{1, target(1, true)}}, changes, enqueued, {});
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].queue == std::vector<std::size_t>{1, 0});
}

TEST_CASE("a batch's run stops at its endpoint's first failure, which it keeps with its decision") {
  std::vector<DirectRun> runs{run_of(1, {"a", "b", "c"})};
  ScriptedSender sender;
  sender.answers = {{200, "", std::nullopt}, {503, "busy", std::nullopt}};
  const std::atomic<bool> stopping{false};
  send_runs(runs, {&sender}, rules(), {1}, std::nullopt, stopping);
  CHECK(sender.ids() == std::vector<std::string>{"a", "b"});
  CHECK(recorded_ids(runs[0]) == std::vector<std::string>{"a", "b"});
  CHECK(runs[0].recorded[0].decision.verdict == Verdict::kDelivered);
  CHECK(runs[0].recorded[1].decision.verdict == Verdict::kRetry);
  CHECK(runs[0].recorded[1].decision.delay >= 4s);
  CHECK_FALSE(runs[0].cut);
  REQUIRE(runs[0].result.attempts.size() == 2);
}

TEST_CASE("no request of a batch starts past its budget, and a run left unsent is cut") {
  std::vector<DirectRun> runs{run_of(1, {"a", "b"}), run_of(2, {"c"})};
  ScriptedSender one, two;
  auto r = rules();
  r.deadline = std::chrono::steady_clock::now() - 1ms;
  const std::atomic<bool> stopping{false};
  send_runs(runs, {&one, &two}, r, {1, 2}, std::nullopt, stopping);
  CHECK(one.ids().empty());
  CHECK(two.ids().empty());
  CHECK(runs[0].cut);
  CHECK(runs[1].cut);
  CHECK(runs[0].recorded.empty());
  // No request went out: none was cut, and the queue may be taken over.
  CHECK_FALSE(runs[0].cut_request.has_value());
}

TEST_CASE("a request cut at the budget is not an attempt: dropped, and the run is cut") {
  std::vector<DirectRun> runs{run_of(1, {"a", "b"})};
  ScriptedSender sender;
  sender.delay = 30ms;
  sender.answers = {{std::nullopt, "Timeout was reached", std::nullopt}};
  const std::atomic<bool> stopping{false};
  // The client ended it a little before the cut by our clock, as libcurl
  // can: still the cut's.
  send_runs(runs, {&sender}, rules(), {1}, 31ms, stopping);
  CHECK(sender.ids() == std::vector<std::string>{"a"});
  CHECK(runs[0].recorded.empty());
  CHECK(runs[0].result.attempts.empty());
  CHECK(runs[0].cut);
  // Its delivery is the one marked as cut (not "b", never sent).
  CHECK(runs[0].cut_request == runs[0].target.deliveries[0].id);
}

TEST_CASE("a failure that came before the cut is the receiver's: kept, and the run is not cut") {
  std::vector<DirectRun> runs{run_of(1, {"a", "b"})};
  ScriptedSender sender;
  sender.answers = {{std::nullopt, "Connection refused", std::nullopt}};
  const std::atomic<bool> stopping{false};
  send_runs(runs, {&sender}, rules(), {1}, 1000ms, stopping);
  REQUIRE(runs[0].recorded.size() == 1);
  CHECK(runs[0].recorded[0].decision.verdict == Verdict::kRetry);
  CHECK_FALSE(runs[0].cut);
  CHECK_FALSE(runs[0].cut_request.has_value());
}

TEST_CASE("once stopping, a batch sends nothing more, and its runs are not cut for it") {
  std::vector<DirectRun> runs{run_of(1, {"a"})};
  ScriptedSender sender;
  const std::atomic<bool> stopping{true};
  send_runs(runs, {&sender}, rules(), {1}, std::nullopt, stopping);
  CHECK(sender.ids().empty());
  CHECK_FALSE(runs[0].cut);
}

TEST_CASE("a batch's endpoints are sent to at the same time, each by one thread") {
  // Each request waits until both endpoints' first requests have started:
  // sent one endpoint after the other, the first would wait out its 5 s.
  std::mutex mutex;
  std::condition_variable both;
  int started = 0;
  bool met = true;
  const auto meet = [&] {
    std::unique_lock lock(mutex);
    ++started;
    both.notify_all();
    met = both.wait_for(lock, 5s, [&] { return started >= 2; }) && met;
  };
  std::vector<DirectRun> runs{run_of(1, {"a"}), run_of(2, {"b"})};
  ScriptedSender one, two;
  one.before = meet;
  two.before = meet;
  const std::atomic<bool> stopping{false};
  send_runs(runs, {&one, &two}, rules(), {1, 2}, std::nullopt, stopping);
  CHECK(met);
  CHECK(recorded_ids(runs[0]) == std::vector<std::string>{"a"});
  CHECK(recorded_ids(runs[1]) == std::vector<std::string>{"b"});
}

TEST_CASE("a batch sends to an endpoint only when it has few deliveries for it") {
  // Endpoint 3 has three deliveries in the batch, 5 one, 4 two.
  const std::vector<std::int64_t> routed{3, 5, 3, 4, 3, 4};
  // Each with the room left for a queue to take over.
  using Rooms = std::map<std::int64_t, std::int64_t>;
  CHECK(room_left(routed, 2) == Rooms{{4, 0}, {5, 1}});
  CHECK(room_left(routed, 3) == Rooms{{3, 0}, {4, 1}, {5, 2}});
  CHECK(room_left({}, 3).empty());
}
