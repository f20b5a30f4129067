#include "millrace/changefeed/service.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>

#include "initial_snapshot.hpp"
#include "kafka_publisher.hpp"
#include "millrace/changefeed/backfill.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/kafka/readiness.hpp"
#include "millrace/pg/readiness.hpp"
#include "millrace/runtime/health.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/retry.hpp"
#include "millrace/runtime/worker.hpp"
#include "pg_backfill.hpp"
#include "pg_stream.hpp"
#include "probe.hpp"
#include "slot_recovery.hpp"

namespace millrace::changefeed {

using core::FailureClass;
using core::InfraError;
using runtime::Worker;
using std::chrono::milliseconds;

namespace {

constexpr const char* kComponent = "changefeed";
constexpr milliseconds kProbeInterval{10};

// Unique to one session of one process: in every watermark it writes.
std::string session_id() {
  static std::atomic<std::uint64_t> sessions{0};
  std::random_device random;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%08x%08x-%llu", random(), random(),
                static_cast<unsigned long long>(++sessions));
  return buf;
}

// The feed's worker: sessions, each one connection to each side, retried
// with backoff until stop or a fatal failure.
struct FeedRunner {
  ChangefeedConfig config;
  FeedProbe probe;
  // The outbox format's counts, across sessions.
  outbox::Counts outbox_counts;
  // Polled: PostgreSQL and the change topic. Pushed: "feed" while a
  // session has failed and the next one has not reached streaming.
  runtime::Health health{kComponent};
  runtime::Worker worker;

  FeedRunner(ChangefeedConfig c, metrics::Registry& registry)
      : config(std::move(c)),
        probe(registry),
        worker({.component = kComponent,
                .retry = config.retry,
                .health = &health,
                .check = "feed",
                .problem = "not streaming: ",
                .action = "the feed reconnects by itself; its log says what it is waiting for",
                .observe = [this](const InfraError& e) { probe.session_failed(e.retryable()); }}) {
    health.poll("postgresql", pg::database_probe(config.pg, "millrace-changefeed-readiness"));
    health.poll("kafka", kafka::topic_probe(config.kafka, config.kafka.topic,
                                            "create it with `millrace create-topics`, or set " +
                                                config.kafka.topic_env +
                                                " to the topic the feed should write"));
  }

  void session() { stream(); }

  // One connection to each side, streaming until stop or a failure.
  void stream() {
    KafkaPublisher publisher(
        config, static_cast<std::int32_t>(config.transaction_timeout_ms),
        [this] { return worker.stopping(); }, &outbox_counts);
    const auto published = read_checkpoint(config, [this] { return worker.stopping(); });
    Checkpoint checkpoint = published.value_or(Checkpoint{});
    // A slot's creation may wait long for open transactions: readiness
    // (and with it the log) says for which, and a stop cancels it.
    PgStream stream(config, [this](const std::string& why) {
      if (!why.empty()) {
        health.set("feed", "not streaming: " + why,
                   "end those transactions (commit, roll back or pg_terminate_backend), or wait "
                   "for them");
      }
      if (worker.stopping()) throw runtime::Stopped{};
    });
    PgBackfillSource backfill_source(config);
    if (!published && config.snapshot == Snapshot::kInitial) {
      // Never published anything: the slot, a backfill of every table, and
      // the first checkpoint (snapshot.hpp).
      probe.snapshot_started();
      checkpoint = start_initial_snapshot(config, stream, publisher, backfill_source);
    } else if (checkpoint.end_lsn > stream.server_position()) {
      // The topic says more was published than this server has written:
      // not the database the feed was reading (restored from a backup, or
      // replaced). Skipping up to the checkpoint would drop real changes.
      throw InfraError(FailureClass::kFatal,
                       "the checkpoint (" + format_lsn(checkpoint.end_lsn) +
                           ") is ahead of the server's WAL (" +
                           format_lsn(stream.server_position()) +
                           "): the database is not the one this feed published from; use a new "
                           "--slot, --checkpoint-group and topic, or restore the database");
    }
    const bool lost = !stream.slot_exists() || stream.slot_lost();
    if (!published && config.snapshot == Snapshot::kInitial) {
      // The slot was just created.
    } else if (published && (lost || checkpoint.slot_lost_from != 0)) {
      // A new slot would start at the server's current position: what was
      // committed since the checkpoint would never be published.
      if (config.on_slot_lost != SlotLost::kBackfill) {
        throw InfraError(
            FailureClass::kFatal,
            "replication slot " + config.slot +
                (stream.slot_exists() ? " was invalidated by PostgreSQL (it held more WAL than "
                                        "max_slot_wal_keep_size)"
                                      : " is gone") +
                ", but checkpoint group " + config.checkpoint_group + " says changes up to " +
                format_lsn(checkpoint.commit_lsn) +
                " were published from it: what was committed since is no longer in any slot. "
                "Start with --on-slot-lost=backfill to replace it, publish the gap and backfill "
                "every published table, or with a new --checkpoint-group (add --snapshot "
                "initial to publish the tables' full state first)");
      }
      checkpoint = recover_lost_slot(config, stream, publisher, backfill_source, checkpoint);
      probe.slot_lost();
    } else if (lost) {
      // Nothing was published from it: a new one loses nothing.
      if (stream.slot_exists()) stream.drop_slot();
      stream.create_slot();
    }
    stream.start();
    runtime::log_info(kComponent, "streaming slot " + config.slot + " (publication " +
                                      config.publication + ") to " + config.kafka.topic +
                                      " from checkpoint " + format_lsn(checkpoint.commit_lsn));
    FeedConfig fc;
    fc.max_batch_changes = static_cast<std::size_t>(config.max_batch_changes);
    fc.max_batch_bytes = static_cast<std::size_t>(config.max_batch_bytes);
    fc.linger = milliseconds(config.linger_ms);
    fc.status_interval = milliseconds(config.status_interval_ms);
    fc.catch_up_to = stream.server_position();
    // Reading and decoding the next batch while this one publishes: when
    // catching up, the two took turns before, each waiting on the other.
    fc.pipelined = true;
    Feed feed(
        stream, publisher, [&](const Relation& r) { return stream.primary_key(r); }, checkpoint,
        fc);
    // Backfills between the stream's transactions, where the server sends
    // the watermarks (logical messages).
    BackfillConfig bc;
    bc.poll = milliseconds(config.backfill_poll_ms);
    Backfiller backfiller(
        backfill_source, [&](const Relation& r) { return stream.primary_key(r); }, session_id(),
        bc);
    // A chunk's read, which may take long, holds up this thread's step: the
    // replication session is kept alive meanwhile (PostgreSQL ends one
    // silent for wal_sender_timeout, and the chunk would be read again and
    // again), and a stop cancels the read.
    backfill_source.while_reading([&] {
      feed.keep_alive();
      if (worker.stopping()) throw runtime::Stopped{};
    });
    if (stream.messages()) {
      backfiller.resume(checkpoint);
      feed.set_backfill(&backfiller);
    } else {
      runtime::log_warn(kComponent,
                        "PostgreSQL before 14 sends no logical messages: backfills are off");
    }
    probe.session_started();
    probe.connected(true);
    health.clear("feed");
    std::chrono::steady_clock::time_point probed{};
    while (!worker.stopping()) {
      const auto now = feed.step(milliseconds(100));
      // Catching up, a step is one message: the metrics are brought up to
      // date every few milliseconds, not at each (their atomics and clock
      // read were 2 % of the feed's CPU).
      if (now - probed < kProbeInterval) continue;
      probed = now;
      probe.observe(feed.stats());
      probe.outbox(outbox_counts);
      probe.backfill(backfiller);
      probe.backfills_enabled(stream.messages() && backfill_source.serving());
    }
    feed.flush();
    probe.observe(feed.stats());
    probe.outbox(outbox_counts);
    runtime::log_info(kComponent, "stopped at " + format_lsn(feed.published().commit_lsn) +
                                      " after " + std::to_string(feed.stats().changes) +
                                      " change(s)");
  }

  // One session: it returns only when stopped.
  Worker::Next round() {
    session();
    return Worker::Next::done();
  }
};

class ChangefeedService final : public runtime::Service {
 public:
  ChangefeedService(ChangefeedConfig config, metrics::Registry& metrics)
      : runner_(std::move(config), metrics) {}
  ~ChangefeedService() override { stop(); }

  void start() override {
    runner_.health.start();
    runner_.worker.spawn([this] { return runner_.round(); });
  }

  void stop() override {
    runner_.health.stop();
    runner_.worker.stop();
  }

  bool wait(milliseconds timeout) override { return runner_.worker.wait(timeout); }

  void rethrow_failure() override { runner_.worker.rethrow_failure(); }

  std::vector<runtime::Problem> readiness() const override { return runner_.health.problems(); }

 private:
  FeedRunner runner_;
};

}  // namespace

std::unique_ptr<runtime::Service> make_changefeed(ChangefeedConfig config,
                                                  metrics::Registry& metrics) {
  return std::make_unique<ChangefeedService>(std::move(config), metrics);
}

}  // namespace millrace::changefeed
