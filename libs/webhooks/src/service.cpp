#include "millrace/webhooks/service.hpp"

#include <condition_variable>
#include <mutex>
#include <random>
#include <utility>
#include <vector>

#include "direct.hpp"
#include "dispatch.hpp"
#include "ingest.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/http/client.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/pg/schema_setup.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/worker.hpp"
#include "pg_queue.hpp"
#include "probe.hpp"
#include "read_marks.hpp"
#include "sender.hpp"
#include "wakeup.hpp"

namespace millrace::webhooks {

using runtime::Worker;
using Next = runtime::Worker::Next;
using std::chrono::milliseconds;

namespace {

constexpr const char* kUserAgent = "millrace-webhooks/1";

// What a worker and the consumer's own sends share: the schedule, the user
// agent, the clock. The source prefix is set from each connection.
detail::DispatchRules base_rules(const WebhooksConfig& config) {
  detail::DispatchRules rules;
  rules.schedule = config.schedule;
  rules.user_agent = kUserAgent;
  rules.source_prefix.clear();
  rules.now_s = [] {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  return rules;
}

// The log line of an endpoint disabled by a claim, or by a batch's own
// sends to it.
void log_disabled(const std::string& who, std::int64_t endpoint,
                  const detail::ClaimResult& result) {
  if (!result.auto_disabled.empty()) {
    runtime::log_error(who, "endpoint " + std::to_string(endpoint) +
                                " disabled: " + result.auto_disabled +
                                " (millrace webhooks enable sends its queue again)");
  }
}

constexpr auto kStatsEvery = std::chrono::seconds(5);
constexpr auto kPruneEvery = std::chrono::minutes(10);
// How often the marker looks whether an idle consumer's positions, or
// deliveries waiting on them, call for new read marks (read_marks.hpp).
constexpr auto kMarkEvery = milliseconds(100);

// The delivery workers, one housekeeper that refreshes the queue's gauges
// and prunes delivered rows, one listener that wakes the workers when
// deliveries are enqueued (wakeup.hpp), and one marker that writes how far
// an idle consumer has read (read_marks.hpp).
class Dispatcher {
 public:
  Dispatcher(const WebhooksConfig& config, detail::DispatchProbe& probe, detail::ReadMarks& marks,
             detail::LocalWake& local, detail::DirectSend& direct)
      : config_(config), probe_(probe), marks_(marks), local_(local), direct_(direct) {
    rules_ = base_rules(config);
    // A claim's lease outlives a request that runs to its timeout, and the
    // recording after it, twice over.
    rules_.lease_ms = 2 * config.timeout_ms + 10000;
    rules_.max_per_claim = static_cast<int>(config.max_per_claim);
    rules_.others_served = [this] {
      std::lock_guard lock(mutex_);
      return idle_ > 0;
    };
  }

  void start() {
    local_.connect([this] {
      probe_.woken_by_commit();
      wake_workers();
    });
    for (std::int64_t i = 0; i < config_.workers; ++i) {
      worker_.spawn(delivery(i), "webhooks.worker" + std::to_string(i));
    }
    worker_.spawn(housekeeping(), "webhooks");
    worker_.spawn(listening(), "webhooks.listener");
    worker_.spawn(marking(), "webhooks.marker");
  }

  void stop() {
    direct_.stop();           // the consumer's last batches only enqueue
    local_.connect(nullptr);  // the consumer's last batch commits after this
    worker_.stop();
  }

  bool failed() const { return worker_.failed(); }
  void rethrow_failure() { worker_.rethrow_failure(); }

 private:
  // Sleeps up to `d`, or less when stopping; true when stopping.
  bool pause(milliseconds d) {
    std::unique_lock lock(mutex_);
    return wake_.wait_for(lock, d, [this] { return stopping_.load(); });
  }

  // An idle worker's wait: until deliveries were enqueued since it saw
  // `seen` wake-ups (a NOTIFY), another worker passed a look on, its poll
  // comes round (retries that came due), or stopping.
  void wait_for_work(std::uint64_t seen) {
    std::unique_lock lock(mutex_);
    ++idle_;
    work_.wait_for(lock, milliseconds(config_.poll_ms),
                   [&] { return stopping_.load() || wakeups_.load() != seen || look_passed_; });
    --idle_;
    look_passed_ = false;  // this worker's claim is the look
  }

  // Wakes one idle worker, not all: it passes the look on to another only
  // if its claim found another endpoint free to claim too (pass_look), so a
  // wake-up costs one claim per endpoint with deliveries, instead of a claim
  // by every idle worker. A worker busy with a claim sees the wake-up
  // when it is done (wait_for_work's `seen`).
  void wake_workers() {
    {
      std::lock_guard lock(mutex_);
      ++wakeups_;
    }
    work_.notify_one();
  }

  // After a claim that found another endpoint free to claim too. Held until
  // a worker is idle to take it.
  void pass_look() {
    {
      std::lock_guard lock(mutex_);
      look_passed_ = true;
    }
    work_.notify_one();
  }

  // Wakes the threads' own waits once the worker stops (or fails).
  void stopping() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    work_.notify_all();
  }

  // Waits for the schema, preparing it on worker 0. The consumer prepares
  // it too; whichever comes first migrates, if the role may, and both wait
  // for the owner's if not. False: stopping first.
  bool schema_prepared(std::int64_t index, const std::string& who) {
    if (schema_ready_) return true;
    if (index == 0) {
      if (!pg::prepare_schema(config_.stream.pg, who, config_.stream.migrate,
                              [this](milliseconds d) { return pause(d); })) {
        return false;
      }
      {
        std::lock_guard lock(mutex_);
        schema_ready_ = true;
      }
      wake_.notify_all();
      return true;
    }
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [this] { return stopping_.load() || schema_ready_.load(); });
    return schema_ready_;
  }

  // A delivery worker's state, made on its own thread at its first round.
  struct Delivering {
    explicit Delivering(Dispatcher& d)
        : queue(d.config_.stream.pg, "millrace-webhooks", d.mark_scope(), d.rules_.max_rate_pause),
          sender(detail::make_http_sender(
              {milliseconds(d.config_.timeout_ms), d.config_.allow_private, d.rules_.user_agent},
              http::make_client())),
          rules(d.rules_) {
      rules.unit_random = [this] { return unit(rng); };
      rules.pause = [&d](milliseconds p) { return d.pause(p); };
    }
    detail::PgQueue queue;
    std::unique_ptr<detail::Sender> sender;
    std::mt19937_64 rng{std::random_device{}()};
    std::uniform_real_distribution<double> unit{0.0, 1.0};
    detail::DispatchRules rules;
  };

  Worker::Round delivery(std::int64_t index) {
    auto state = std::make_shared<std::unique_ptr<Delivering>>();
    return [this, index, state]() -> Next {
      const std::string who = "webhooks.worker" + std::to_string(index);
      if (!*state) *state = std::make_unique<Delivering>(*this);
      if (!schema_prepared(index, who)) return Next::done();
      deliver(who, **state);
      return Next::again();
    };
  }

  // One claim of an endpoint's deliveries, or a wait for work.
  void deliver(const std::string& who, Delivering& d) {
    auto& rules = d.rules;
    auto& queue = d.queue;
    if (rules.source_prefix.empty()) {
      rules.source_prefix = detail::source_prefix(config_.cloudevents_source, queue.database());
    }
    const auto seen = wakeups_.load();
    rules.schedule = config_.reloaded_schedule.value_or(config_.schedule);  // a SIGHUP's
    const auto claim = queue.claim(rules.lease_ms, rules.max_per_claim);
    probe_.looked(claim.has_value());
    if (!claim) {
      wait_for_work(seen);
      return;
    }
    if (claim->more) pass_look();
    const auto result = detail::deliver_claim(*claim, queue, *d.sender, rules, stopping_);
    probe_.claimed(claim->endpoint, result);
    log_disabled(who, claim->endpoint, result);
    if (result.lease_lost) {
      runtime::log_warn(who, "endpoint " + std::to_string(claim->endpoint) +
                                 ": its lease ran out mid-claim; another worker has its queue");
    }
    // A claim that spent its budget may have left deliveries behind:
    // claim again at once. Otherwise only a wake-up since `seen` (or a
    // passed look) brings new work; what the claim stopped at comes due
    // with the poll.
    if (!result.budget_spent) wait_for_work(seen);
  }

  detail::MarkScope mark_scope() const {
    return {config_.stream.group, config_.stream.kafka.topic};
  }

  Worker::Round marking() {
    auto conn = std::make_shared<std::unique_ptr<pqxx::connection>>();
    return [this, conn]() -> Next {
      if (!schema_ready_) return Next::after(milliseconds(200));
      try {
        if (!*conn || !(*conn)->is_open()) {
          *conn = pg::connect(config_.stream.pg.url, config_.stream.pg.schema, "millrace-webhooks",
                              config_.stream.pg.limits);
        }
        if (marks_.write_idle(**conn)) wake_workers();
      } catch (const core::InfraError&) {
        conn->reset();
        throw;
      } catch (const std::exception&) {
        conn->reset();
        pg::rethrow_classified("write the webhooks' read marks");
      }
      return Next::after(kMarkEvery);
    };
  }

  Worker::Round housekeeping() {
    auto queue =
        std::make_shared<detail::PgQueue>(config_.stream.pg, "millrace-webhooks", mark_scope());
    auto last_prune =
        std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
    return [this, queue, last_prune]() -> Next {
      if (!schema_ready_) return Next::after(milliseconds(200));
      probe_.stats(queue->stats());
      if (std::chrono::steady_clock::now() - *last_prune > kPruneEvery) {
        const auto pruned = queue->prune_delivered(config_.keep_delivered_h * 3600);
        if (pruned > 0)
          runtime::log_info("webhooks", "pruned " + std::to_string(pruned) + " delivered rows");
        *last_prune = std::chrono::steady_clock::now();
      }
      return Next::after(std::chrono::duration_cast<milliseconds>(kStatsEvery));
    };
  }

  Worker::Round listening() {
    return [this]() -> Next {
      try {
        detail::listen_for_wakeups(
            config_.stream.pg, local_, stopping_,
            [&] {
              probe_.listening(true);
              wake_workers();  // what was enqueued while nobody listened
            },
            [&] {
              probe_.woken();
              wake_workers();
            });
      } catch (...) {
        probe_.listener_lost();
        throw;
      }
      probe_.listening(false);
      return Next::done();
    };
  }

  const WebhooksConfig& config_;
  detail::DispatchProbe& probe_;
  detail::ReadMarks& marks_;
  detail::LocalWake& local_;
  detail::DirectSend& direct_;
  detail::DispatchRules rules_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;  // pause() and the wait for the schema
  std::condition_variable work_;  // idle workers (wait_for_work)
  std::atomic<bool> stopping_{false};
  std::atomic<bool> schema_ready_{false};
  std::atomic<std::uint64_t> wakeups_{0};
  bool look_passed_ = false;  // under mutex_
  int idle_ = 0;              // workers in wait_for_work(), under mutex_
  // Last: its threads use the members above, and stop before they go.
  Worker worker_{{.component = "webhooks",
                  .retry = config_.stream.retry,
                  .observe =
                      [this](const core::InfraError& e) {
                        if (e.retryable()) probe_.queue_error();
                      },
                  .on_stop = [this] { stopping(); }}};
};

}  // namespace

std::unique_ptr<stream::ConsumerService> make_webhooks(WebhooksConfig webhooks_config,
                                                       metrics::Registry& metrics) {
  auto service = std::make_unique<stream::ConsumerService>("webhooks", metrics);
  const auto& config = service->keep(std::move(webhooks_config));
  auto& marks = service->add(
      std::make_unique<detail::ReadMarks>(config.stream.group, config.stream.kafka.topic,
                                          detail::make_kafka_end_offsets(config.stream.kafka)));
  auto& local = service->add(std::make_unique<detail::LocalWake>());
  auto& probe = service->add(std::make_unique<detail::DispatchProbe>(metrics));
  detail::DirectOptions direct_options{
      .budget = milliseconds(config.direct_ms),
      .timeout = milliseconds(config.timeout_ms),
      .rules = base_rules(config),
      .schedule = [&config] { return config.reloaded_schedule.value_or(config.schedule); }};
  auto& direct = service->add(std::make_unique<detail::DirectSend>(
      std::move(direct_options),
      [&config](milliseconds timeout) {
        return detail::make_http_sender({timeout, config.allow_private, kUserAgent},
                                        http::make_client());
      },
      [&probe](std::int64_t endpoint, const detail::ClaimResult& result, bool cut,
               bool request_cut) {
        probe.sent_from_batch(endpoint, result, cut, request_cut);
        log_disabled("webhooks.consumer", endpoint, result);
        if (cut) {
          runtime::log_warn("webhooks.consumer",
                            "endpoint " + std::to_string(endpoint) +
                                " used up a batch's budget (MILLRACE_WEBHOOKS_DIRECT_MS); its "
                                "deliveries go through the workers for " +
                                std::to_string(detail::kSlowFor.count()) + " s");
        }
      }));
  auto& handler = service->add(
      std::make_unique<detail::IngestHandler>(config.stream.group, config.stream.kafka.topic, marks,
                                              local, config.cloudevents_source, &direct));
  service->consume(config.stream, handler);
  // Started once the consumer runs; stopped first, after the requests in
  // flight, so the consumer's last batch still commits (and only enqueues).
  service->add(std::make_unique<Dispatcher>(config, probe, marks, local, direct));
  return service;
}

}  // namespace millrace::webhooks
