#include "direct.hpp"

#include <algorithm>
#include <climits>
#include <future>
#include <span>

#include "failures.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/pg/array.hpp"
#include "pg_queue_sql.hpp"
#include "wakeup.hpp"

namespace millrace::webhooks::detail {

namespace {

using Clock = std::chrono::steady_clock;

// A queue that keeps a run's outcomes in memory, for the batch's
// transaction to store: deliver_claim's loop, without the workers' queue.
class KeptOutcomes final : public Queue {
 public:
  explicit KeptOutcomes(std::vector<Recorded>& out) : out_(out) {}
  std::optional<Claim> claim(std::int64_t, int) override { return std::nullopt; }
  Stored record(const Claim&, std::span<const Recorded> recorded, std::int64_t, bool,
                RateWait) override {
    out_.insert(out_.end(), recorded.begin(), recorded.end());
    return {true, ""};
  }
  std::optional<std::vector<Delivery>> record_and_continue(const Claim&,
                                                           std::span<const Recorded> recorded,
                                                           std::int64_t, int, RateWait) override {
    out_.insert(out_.end(), recorded.begin(), recorded.end());
    return std::vector<Delivery>{};  // nothing more: the run is its batch's
  }
  QueueStats stats() override { return {}; }
  std::int64_t prune_delivered(std::int64_t) override { return 0; }

 private:
  std::vector<Recorded>& out_;
};

void send_run(DirectRun& run, Sender& sender, DispatchRules rules, std::uint64_t seed,
              std::optional<std::chrono::milliseconds> cut_at, const std::atomic<bool>& stopping) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  rules.unit_random = [&] { return unit(rng); };
  rules.max_per_claim = INT_MAX;  // the run is the batch's deliveries, no more
  rules.others_served = nullptr;
  KeptOutcomes kept(run.recorded);
  run.result = deliver_claim(run.target, kept, sender, rules, stopping);
  // libcurl ends a transfer at its timeout by its own clock, which can be
  // a fraction of a millisecond short of ours (299.7 ms of 300 seen): a
  // request without an answer that lasted 90 % of the cut was cut.
  if (cut_at && !run.recorded.empty() && !run.recorded.back().result.status &&
      run.result.attempts.back().seconds >= 0.9 * std::chrono::duration<double>(*cut_at).count()) {
    run.cut_request = run.recorded.back().delivery->id;
    run.recorded.pop_back();
    run.result.attempts.pop_back();
    run.cut = true;
  }
  const bool stopped_at_failure =
      !run.recorded.empty() && run.recorded.back().decision.verdict != Verdict::kDelivered;
  if (run.recorded.size() < run.target.deliveries.size() && !stopped_at_failure &&
      !stopping.load()) {
    run.cut = true;
  }
}

}  // namespace

void send_runs(std::vector<DirectRun>& runs, const std::vector<Sender*>& senders,
               const DispatchRules& rules, const std::vector<std::uint64_t>& seeds,
               std::optional<std::chrono::milliseconds> cut_at, const std::atomic<bool>& stopping) {
  // The runs with something to send, taken in turn by this thread and up
  // to kMaxThreads - 1 more.
  std::vector<std::size_t> sending;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (!runs[i].target.deliveries.empty()) sending.push_back(i);
  }
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (auto k = next++; k < sending.size(); k = next++) {
      const auto i = sending[k];
      send_run(runs[i], *senders[i], rules, seeds[i], cut_at, stopping);
    }
  };
  std::vector<std::future<void>> others;
  const auto threads = std::min(sending.size(), kMaxThreads);
  for (std::size_t t = 1; t < threads; ++t) others.push_back(std::async(std::launch::async, work));
  work();
  for (auto& f : others) f.get();
}

std::map<std::int64_t, std::int64_t> room_left(const std::vector<std::int64_t>& routed,
                                               std::size_t max) {
  std::map<std::int64_t, std::size_t> count;
  for (const auto e : routed) ++count[e];
  std::map<std::int64_t, std::int64_t> out;
  for (const auto& [e, n] : count) {
    if (n <= max) out.emplace(e, static_cast<std::int64_t>(max - n));
  }
  return out;
}

DirectSend::DirectSend(DirectOptions options, MakeSender make_sender, Report report)
    : options_(std::move(options)),
      make_sender_(std::move(make_sender)),
      report_(std::move(report)) {}

// As a claim takes an endpoint (pg_queue_sql.cpp): active, and no other
// worker's live lease; and no rate limit, whose pacing is the workers'. Its
// queue, if any, must be one the batch may take over: no claim's lease
// token on it, nothing attempted, no more than its room (so that an
// endpoint with a queue the workers serve is not locked, and passed over by
// their claims, while the batch sends to others). The rows statement checks
// the queue again in its own snapshot.
std::map<std::int64_t, std::int64_t> DirectSend::hold(pqxx::work& tx,
                                                      const std::vector<std::int64_t>& routed) {
  held_.clear();
  const auto now = Clock::now();
  pg::ArrayLiteral ids, rooms;
  std::map<std::int64_t, std::int64_t> wanted;
  for (const auto& [e, room] : room_left(routed, kMaxPerBatch)) {
    const auto slow = slow_until_.find(e);
    if (slow != slow_until_.end()) {
      if (now < slow->second) continue;
      slow_until_.erase(slow);
    }
    ids.add(e);
    rooms.add(room);
    wanted.emplace(e, room);
  }
  if (wanted.empty()) return {};
  const auto rows = tx.exec_params(
      "SELECT e.id, e.url, e.secret, "
      "  CASE WHEN e.previous_secret_until > clock_timestamp() THEN e.previous_secret END, "
      "  e.ordering = 'commit', e.format "
      "FROM unnest($1::bigint[], $2::bigint[]) AS x(id, room) JOIN webhook_endpoints e "
      "  ON e.id = x.id "
      "WHERE e.active AND e.rate_limit IS NULL "
      "  AND " +
          may_take_over("x.room", "$3") +
          "  AND (e.lease_until IS NULL OR e.lease_until < clock_timestamp() "
          "    OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = e.lease_pid)) "
          "FOR NO KEY UPDATE OF e SKIP LOCKED",
      ids.take(), rooms.take(), static_cast<std::int64_t>(kMaxPerBatch) + 1);
  std::map<std::int64_t, std::int64_t> out;
  for (const auto& r : rows) {
    Claim c;
    c.endpoint = r[0].as<std::int64_t>();
    c.url = r[1].as<std::string>();
    c.secrets.push_back(r[2].as<std::string>());
    if (!r[3].is_null()) c.secrets.push_back(r[3].as<std::string>());
    c.commit_order = r[4].as<bool>();
    c.format = format_named(r[5].as<std::string>()).value_or(Format::kStandard);
    out.emplace(c.endpoint, wanted.at(c.endpoint));
    held_.emplace(c.endpoint, std::move(c));
  }
  return out;
}

std::vector<DirectRun> plan_runs(const std::map<std::int64_t, Claim>& held,
                                 const std::vector<const ChangeFacts*>& changes,
                                 const std::vector<Enqueued>& enqueued,
                                 const std::vector<Adopted>& adopted) {
  // Per endpoint, its deliveries: a pending one as -1 - its index in
  // `adopted`, a batch's as its change's index; with whether it may go.
  struct Item {
    std::int64_t at;
    bool go;
  };
  std::map<std::int64_t, std::vector<Item>> picked;
  // Pending ones first, by row id: key order's queue order, before the
  // batch's; commit order sorts them all below.
  std::vector<std::size_t> by_row(adopted.size());
  for (std::size_t k = 0; k < adopted.size(); ++k) by_row[k] = k;
  std::stable_sort(by_row.begin(), by_row.end(),
                   [&](auto a, auto b) { return adopted[a].id < adopted[b].id; });
  for (const auto k : by_row) {
    picked[adopted[k].endpoint].push_back({-1 - static_cast<std::int64_t>(k), adopted[k].go});
  }
  for (std::size_t i = 0; i < enqueued.size(); ++i) {
    for (const auto& d : enqueued[i].direct) {
      picked[d.endpoint].push_back({static_cast<std::int64_t>(i), d.go});
    }
  }
  const auto change_id = [&](std::int64_t at) -> const std::string& {
    return at < 0 ? adopted[static_cast<std::size_t>(-1 - at)].change_id
                  : changes[static_cast<std::size_t>(at)]->id;
  };
  std::vector<DirectRun> out;
  for (auto& [endpoint, items] : picked) {
    const auto it = held.find(endpoint);
    if (it == held.end()) continue;  // the statement returns only held ones
    DirectRun run;
    run.target = it->second;
    if (run.target.commit_order) {
      std::stable_sort(items.begin(), items.end(), [&](const Item& a, const Item& b) {
        return change_id(a.at) < change_id(b.at);  // bytewise, as COLLATE "C"
      });
    }
    bool released = true;
    for (const auto& [at, go] : items) {
      if (at >= 0) run.queue.push_back(static_cast<std::size_t>(at));
      released = released && go;
      if (!released) continue;
      if (at < 0) {
        const auto& a = adopted[static_cast<std::size_t>(-1 - at)];
        run.target.deliveries.push_back({at, a.change_id, a.body, 0, a.committed_s});
        continue;
      }
      const auto& c = *changes[static_cast<std::size_t>(at)];
      const auto committed = core::parse_timestamp(c.commit_time);
      run.target.deliveries.push_back(
          {at, c.id, c.body, 0, committed ? static_cast<double>(*committed) / 1e6 : 0.0});
    }
    out.push_back(std::move(run));
  }
  return out;
}

Sender* DirectSend::sender_for(std::int64_t endpoint) {
  auto& sender = senders_[endpoint];
  if (!sender) sender = make_sender_(std::min(options_.budget, options_.timeout));
  return sender.get();
}

bool DirectSend::send_and_store(pqxx::work& tx, const std::vector<const ChangeFacts*>& changes,
                                const RowsWritten& written, const std::string& source_prefix) {
  if (held_.empty()) return false;
  auto runs = plan_runs(held_, changes, written.changes, written.adopted);
  std::vector<Sender*> senders;
  std::vector<std::uint64_t> seeds;
  for (const auto& run : runs) {
    senders.push_back(run.target.deliveries.empty() ? nullptr : sender_for(run.target.endpoint));
    seeds.push_back(rng_());
  }
  auto rules = options_.rules;
  rules.source_prefix = source_prefix;
  if (options_.schedule) rules.schedule = options_.schedule();
  rules.deadline = Clock::now() + options_.budget;
  std::optional<std::chrono::milliseconds> cut_at;
  if (options_.budget < options_.timeout) cut_at = options_.budget;
  send_runs(runs, senders, rules, seeds, cut_at, stopping_);
  const auto now = Clock::now();
  for (const auto& run : runs) {
    if (run.cut) slow_until_[run.target.endpoint] = now + options_.slow_for;
  }
  const bool woke = store(tx, runs, changes, written.adopted);
  for (auto& run : runs) {
    report_(run.target.endpoint, run.result, run.cut, run.cut_request.has_value());
  }
  held_.clear();
  return woke;
}

namespace {

// A delivery whose request the budget cut: pending, not attempted, with
// this as its last error and the cut's time as its last attempt's, which
// keeps its queue from being taken over by a batch (may_take_over()).
constexpr const char* kCutRequest =
    "the request outlasted the batch's budget (--direct-ms) and was cut; not counted as an "
    "attempt: the workers send it";

// The rows of a batch's direct deliveries, as arrays for one INSERT.
struct DirectRows {
  pg::ArrayLiteral endpoints, change_ids, bodies, committed, statuses, attempts, ages, http, errors,
      delays;
  bool any_pending = false;
  // `r` null: not sent, pending as the rows statement would have enqueued
  // it; with `cut`, its request was cut by the budget (kCutRequest).
  void add(std::int64_t endpoint, const ChangeFacts& change, const Recorded* r, std::int64_t age_ms,
           bool cut = false) {
    endpoints.add(endpoint);
    change_ids.add(change.id);
    committed.add(change.commit_time);
    if (r == nullptr) {
      any_pending = true;
      bodies.add(change.body);
      statuses.add("pending");
      attempts.add(0);
      if (cut) {
        ages.add(0);
        errors.add(kCutRequest);
      } else {
        ages.add_null();
        errors.add_null();
      }
      http.add(0);
      delays.add_null();
      return;
    }
    const auto verdict = r->decision.verdict;
    const bool delivered = verdict == Verdict::kDelivered;
    // A delivered row keeps its record and not its body (pg_queue_sql.cpp).
    bodies.add(delivered ? std::string() : change.body);
    statuses.add(delivered ? "delivered" : verdict == Verdict::kFailed ? "failed" : "pending");
    if (verdict == Verdict::kRetry || verdict == Verdict::kDisable) any_pending = true;
    attempts.add(1);
    ages.add(age_ms);
    http.add(r->result.status.value_or(0));
    if (delivered) {
      errors.add_null();
    } else {
      errors.add(r->decision.reason);
    }
    if (verdict == Verdict::kRetry) {
      delays.add(static_cast<std::int64_t>(r->decision.delay.count()));
    } else {
      delays.add_null();
    }
  }
};

// The batch's direct deliveries in one INSERT, in the arrays' order (each
// endpoint's in its queue order); the pending ones taken over that were
// delivered set so ($13-$15, as a worker sets them); the workers' wake-up
// when one is left pending, or when $16 (a run cut, or failed, may have
// left pending ones taken over); the failing time ended for the endpoints
// given ($12); a pending one taken over whose request was cut ($17) marked
// as DirectRows::add marks a cut one of the batch's.
const std::string kStoreDirectSql =
    "WITH r AS ("
    "  SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], "
    "    $5::text[], $6::int[], $7::bigint[], $8::int[], $9::text[], $10::bigint[]) "
    "  WITH ORDINALITY AS r(endpoint_id, change_id, body, committed_at, status, attempts, age_ms, "
    "    http_status, error, delay_ms, ord)), "
    "t AS (SELECT r.*, clock_timestamp() - r.age_ms * interval '1 millisecond' AS at FROM r), "
    "ins AS ("
    "  INSERT INTO webhook_deliveries (endpoint_id, change_id, body, committed_at, status, "
    "    attempts, next_attempt_at, last_attempt_at, last_status, last_error, delivered_at) "
    "  SELECT endpoint_id, change_id, body, committed_at, status, attempts, "
    "    coalesce(at + delay_ms * interval '1 millisecond', now()), at, NULLIF(http_status, 0), "
    "    error, CASE WHEN status = 'delivered' THEN at END "
    "  FROM t ORDER BY ord "
    "  ON CONFLICT (endpoint_id, change_id) DO NOTHING RETURNING status), "
    "ok AS ("
    "  UPDATE webhook_endpoints SET failing_since = NULL "
    "  WHERE id = ANY ($12::bigint[]) AND failing_since IS NOT NULL RETURNING id), "
    "dl AS (" +
    queue_sql::set_delivered_sql(13, "") +
    " AND d.status = 'pending' RETURNING 1), "
    "ct AS ("
    "  UPDATE webhook_deliveries d SET last_attempt_at = clock_timestamp(), last_error = $18 "
    "  WHERE d.id = ANY ($17::bigint[]) AND d.status = 'pending' RETURNING 1), "
    "wake AS ("
    "  SELECT count(pg_notify($11, current_schema())) AS sent "
    "  FROM (SELECT 1 WHERE $16 OR EXISTS (SELECT 1 FROM ins WHERE status = 'pending')) AS x) "
    "SELECT wake.sent, (SELECT count(*) FROM ok) FROM wake";

}  // namespace

// Every delivery the rows statement returned for the held endpoints, each
// endpoint's in its queue order: what was attempted with its outcome, the
// rest pending; the pending ones taken over that were delivered, set so (one
// not attempted stays as it was). A failure is then stored on its row and
// its endpoint as a worker's is.
bool DirectSend::store(pqxx::work& tx, std::vector<DirectRun>& runs,
                       const std::vector<const ChangeFacts*>& changes,
                       const std::vector<Adopted>& adopted) {
  DirectRows rows;
  pg::ArrayLiteral delivered_endpoints, taken_ids, taken_statuses, taken_ages, taken_cut;
  bool left_behind = false;
  const auto now = Clock::now();
  const auto age_ms = [&](const Recorded& r) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - r.answered).count();
  };
  for (const auto& run : runs) {
    std::map<std::int64_t, const Recorded*> outcome;
    for (const auto& r : run.recorded) {
      outcome[r.delivery->id] = &r;
      if (r.delivery->id >= 0 || r.decision.verdict != Verdict::kDelivered) continue;
      taken_ids.add(adopted.at(static_cast<std::size_t>(-1 - r.delivery->id)).id);
      taken_statuses.add(r.result.status.value_or(0));
      taken_ages.add(age_ms(r));
    }
    for (const auto index : run.queue) {
      const auto it = outcome.find(static_cast<std::int64_t>(index));
      const Recorded* r = it == outcome.end() ? nullptr : it->second;
      rows.add(run.target.endpoint, *changes[index], r, r == nullptr ? 0 : age_ms(*r),
               run.cut_request == static_cast<std::int64_t>(index));
    }
    const bool failed =
        !run.recorded.empty() && run.recorded.back().decision.verdict != Verdict::kDelivered;
    if (!run.recorded.empty() && !failed) delivered_endpoints.add(run.target.endpoint);
    left_behind = left_behind || failed || run.cut;
    if (run.cut_request && *run.cut_request < 0) {
      taken_cut.add(adopted.at(static_cast<std::size_t>(-1 - *run.cut_request)).id);
    }
  }
  const auto row = tx.exec_params1(
      kStoreDirectSql, rows.endpoints.take(), rows.change_ids.take(), rows.bodies.take(),
      rows.committed.take(), rows.statuses.take(), rows.attempts.take(), rows.ages.take(),
      rows.http.take(), rows.errors.take(), rows.delays.take(), std::string(kWakeChannel),
      delivered_endpoints.take(), taken_ids.take(), taken_statuses.take(), taken_ages.take(),
      left_behind, taken_cut.take(), std::string(kCutRequest));
  for (auto& run : runs) {
    if (run.recorded.empty()) continue;
    const auto& last = run.recorded.back();
    if (last.decision.verdict == Verdict::kDelivered) continue;
    const bool before = run.recorded.size() > 1;
    run.result.auto_disabled =
        last.delivery->id < 0
            ? attempt_failed(tx, run.target.endpoint,
                             adopted.at(static_cast<std::size_t>(-1 - last.delivery->id)).id, last,
                             age_ms(last), before)
            : endpoint_failed(tx, run.target.endpoint, last.decision, age_ms(last), before);
  }
  return row[0].as<std::int64_t>() > 0;
}

}  // namespace millrace::webhooks::detail
