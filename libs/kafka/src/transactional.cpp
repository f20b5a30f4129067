#include "millrace/kafka/transactional.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "handles.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/runtime/retry.hpp"

namespace millrace::kafka {

using core::FailureClass;
using core::InfraError;

namespace {

// Turns a transactional API error into InfraError. A retriable error of
// commit is retried by the caller of this (see commit()); here the class is
// what the caller gets once retrying is over.
[[noreturn]] void throw_error(rd_kafka_error_t* raw, const std::string& context) {
  detail::ErrorPtr error(raw);
  const bool fatal = rd_kafka_error_is_fatal(error.get());
  throw InfraError(fatal ? FailureClass::kFatal : FailureClass::kRetryable,
                   "kafka transaction: " + context + ": " + rd_kafka_error_string(error.get()));
}

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long past its own timeout send_offsets_to_transaction() may take
// before the producer is given up (see commit_offset()).
constexpr std::chrono::seconds kStuckGrace{5};
// The longest a wait on the broker goes without looking at the owner's
// stop (TransactionalConfig::stopping): librdkafka's resumable calls are
// made in slices of it.
constexpr milliseconds kSlice{500};
// Between two slices of a resumable call.
constexpr milliseconds kResumePause{10};
// What a stop leaves a transaction under way (its offsets, commit or abort,
// a full queue) to end by itself.
constexpr std::chrono::seconds kStopGrace{5};

// One send_offsets_to_transaction() call on its own thread. The waiter and
// the thread share this; whichever is last to let go frees the handle if
// the waiter gave it up.
struct OffsetsCall {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  bool abandoned = false;  // the waiter stopped waiting: the thread owns rk
  rd_kafka_error_t* error = nullptr;
};

}  // namespace

namespace detail {

// The sockets of one producer's handle, through librdkafka's socket
// callbacks, so that a producer given up while a call still runs on it can
// be cut off from every broker: its sockets are shut down and it may open
// no new one.
//
// Why: Kafka's group coordinator (3.9.1, the classic one) keeps a
// transaction's pending offsets per producer id, not per epoch, and the
// next producer of the same transactional.id keeps the id with a higher
// epoch. A given-up producer's TxnOffsetCommit that librdkafka sends late,
// while the next producer's checkpoint is pending, is refused for its old
// epoch, but the refusal removes the pending checkpoint of that producer
// id (GroupMetadata.prepareTxnOffsetCommit, then failPendingTxnOffsetCommit):
// the next producer's transaction then commits its records and not its
// checkpoint, and whatever reads the checkpoint publishes them again
// (nemesis seed 12, docs/nemesis.md).
class SocketFence {
 public:
  static void install(rd_kafka_conf_t* conf, SocketFence* fence) {
    rd_kafka_conf_set_opaque(conf, fence);
    rd_kafka_conf_set_socket_cb(conf, &SocketFence::open);
    rd_kafka_conf_set_closesocket_cb(conf, &SocketFence::close);
    // librdkafka's own log lines, but none from a handle cut off: it would
    // log every broker's refused reconnection until its call returns.
    rd_kafka_conf_set_log_cb(
        conf, [](const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
          const auto* fence = static_cast<const SocketFence*>(rd_kafka_opaque(rk));
          if (fence == nullptr || !fence->shut()) log_line(rk, level, fac, buf);
        });
  }

  // Shuts down every socket the handle holds, so that what it has not sent
  // yet is never sent, and refuses every socket it asks for from now on.
  // What a broker has already received is processed in milliseconds; the
  // next producer's InitProducerId comes after that.
  void shut_down() {
    std::lock_guard lock(mutex_);
    shut_ = true;
    for (const int fd : sockets_) ::shutdown(fd, SHUT_RDWR);
  }

  bool shut() const {
    std::lock_guard lock(mutex_);
    return shut_;
  }

 private:
  // librdkafka's default socket callback on Linux, recording the socket.
  static int open(int domain, int type, int protocol, void* opaque) {
    auto* fence = static_cast<SocketFence*>(opaque);
    std::lock_guard lock(fence->mutex_);
    if (fence->shut_) {
      errno = ECONNREFUSED;
      return -1;
    }
    const int fd = ::socket(domain, type | SOCK_CLOEXEC, protocol);
    if (fd >= 0) fence->sockets_.insert(fd);
    return fd;
  }

  // Forgets the socket before closing it: shut_down() never touches a
  // number the process may already have reused.
  static int close(int fd, void* opaque) {
    auto* fence = static_cast<SocketFence*>(opaque);
    std::lock_guard lock(fence->mutex_);
    fence->sockets_.erase(fd);
    return ::close(fd);
  }

  mutable std::mutex mutex_;
  bool shut_ = false;
  std::set<int> sockets_;
};

}  // namespace detail

struct TransactionalProducer::State {
  // Declared before rk: the handle's callbacks use it until the handle is
  // destroyed. Shared with a call's thread that is left the handle.
  std::shared_ptr<detail::SocketFence> fence = std::make_shared<detail::SocketFence>();
  detail::HandlePtr rk;
  // Set when a call did not come back and the handle was left to it: every
  // later call fails, retryably, and the owner makes a new producer.
  std::string lost;
  // The owner's stop, and when a wait first saw it.
  std::function<bool()> stopping;
  std::optional<Clock::time_point> stop_seen;

  // True once a wait should end for the owner's stop: at once where none of
  // the owner's work is in flight (`grace` zero), else once `grace` has
  // passed since a wait first saw the stop.
  bool stop_due(milliseconds grace) {
    if (!stopping || !stopping()) return false;
    const auto now = Clock::now();
    if (!stop_seen) stop_seen = now;
    return now - *stop_seen >= grace;
  }

  // Calls `call` (a transactional call that librdkafka resumes when called
  // again after a retriable error) with slices of at most kSlice until it
  // returns no retriable error or `timeout` is spent, so that a stop is
  // heard between two: once stop_due(grace), throws runtime::Stopped.
  // Returns the last call's error, null on success.
  detail::ErrorPtr resumed(milliseconds timeout, milliseconds grace,
                           const std::function<rd_kafka_error_t*(int)>& call) {
    detail::ErrorPtr last;
    try {
      runtime::Retry(runtime::Backoff::fixed(kResumePause))
          .until(Clock::now() + timeout)
          .waits_with([&](milliseconds wait) {
            std::this_thread::sleep_for(wait);
            return stop_due(grace);
          })
          .run([&](const runtime::Try& t) {
            last.reset(call(static_cast<int>(std::clamp(t.left, milliseconds(1), kSlice).count())));
            if (last && rd_kafka_error_is_retriable(last.get())) {
              throw InfraError(FailureClass::kRetryable, rd_kafka_error_string(last.get()));
            }
          });
    } catch (const InfraError&) {
      // Out of time: `last` holds the retriable error, judged by the caller.
    }
    return last;
  }

  // Each topic's handle, made at its first record (after rk: destroyed
  // before it). A record named by a handle spares librdkafka a look-up of
  // the name under its lock, with a reference taken and dropped, per record.
  std::map<std::string, detail::TopicPtr, std::less<>> topics;
  const std::string* last_topic = nullptr;
  rd_kafka_topic_t* last_handle = nullptr;

  rd_kafka_t* handle(const char* what) const {
    if (!lost.empty()) {
      throw InfraError(FailureClass::kRetryable, std::string("kafka transaction: ") + what +
                                                     ": this producer was given up (" + lost +
                                                     "); make a new one");
    }
    return rk.get();
  }

  rd_kafka_topic_t* topic(rd_kafka_t* handle, const std::string& name) {
    if (last_topic != nullptr && *last_topic == name) return last_handle;
    auto it = topics.find(name);
    if (it == topics.end()) {
      detail::TopicPtr made(rd_kafka_topic_new(handle, name.c_str(), nullptr));
      if (made == nullptr) {
        throw InfraError(FailureClass::kFatal, "kafka transaction: topic " + name + ": " +
                                                   rd_kafka_err2str(rd_kafka_last_error()));
      }
      it = topics.emplace(name, std::move(made)).first;
    }
    last_topic = &it->first;
    last_handle = it->second.get();
    return last_handle;
  }

  // Before the handle is left to another thread, which may destroy it.
  void forget_topics() {
    last_topic = nullptr;
    last_handle = nullptr;
    topics.clear();
  }
};

TransactionalProducer::TransactionalProducer(const TransactionalConfig& config,
                                             std::chrono::milliseconds timeout)
    : state_(std::make_unique<State>()) {
  if (config.transactional_id.empty()) {
    throw InfraError(FailureClass::kFatal, "kafka transaction: a transactional.id is required");
  }
  detail::ConfPtr conf(rd_kafka_conf_new());
  detail::set_property(conf.get(), "bootstrap.servers", config.brokers);
  detail::set_property(conf.get(), "client.id", config.client_id);
  detail::set_property(conf.get(), "transactional.id", config.transactional_id);
  detail::set_property(conf.get(), "transaction.timeout.ms",
                       std::to_string(config.transaction_timeout_ms));
  // Java's partitioner, so a key lands where any other client puts it.
  detail::set_property(conf.get(), "partitioner", "murmur2_random");
  detail::set_property(conf.get(), "linger.ms", "5");
  detail::set_properties(conf.get(), config.extra);
  detail::SocketFence::install(conf.get(), state_->fence.get());
  // Delivery reports, though commit_transaction() reports a failed message
  // itself: without them librdkafka 2.0.2 frees delivered messages without
  // waking the flush inside commit_transaction(), which then sleeps out
  // its 10 ms poll on every commit (rd_kafka_flush()). With them, the
  // report wakes it as the last message is acknowledged.
  rd_kafka_conf_set_dr_msg_cb(conf.get(),
                              [](rd_kafka_t*, const rd_kafka_message_t*, void*) noexcept {});
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err);
  if (rk == nullptr) {
    throw InfraError(FailureClass::kFatal, std::string("kafka transactional producer: ") + err);
  }
  conf.release();
  state_->rk.reset(rk);
  state_->stopping = config.stopping;
  // Nothing of the owner's is in flight: a stop ends the wait at once.
  if (auto e = state_->resumed(timeout, milliseconds(0),
                               [rk](int ms) { return rd_kafka_init_transactions(rk, ms); })) {
    throw_error(e.release(), "init");
  }
}

TransactionalProducer::~TransactionalProducer() = default;

void TransactionalProducer::begin() {
  if (rd_kafka_error_t* e = rd_kafka_begin_transaction(state_->handle("begin"))) {
    throw_error(e, "begin");
  }
}

void TransactionalProducer::produce(const std::string& topic, std::string_view key,
                                    std::string_view value, std::span<const OutHeader> headers,
                                    std::int64_t timestamp_ms) {
  rd_kafka_t* rk = state_->handle("produce");
  rd_kafka_topic_t* rkt = state_->topic(rk, topic);
  for (;;) {
    rd_kafka_headers_t* hdrs = detail::make_headers(headers);
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;  // the message owns the headers now
    if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      // Full until the brokers take what it holds, or its messages time out.
      if (state_->stop_due(kStopGrace)) throw runtime::Stopped{};
      rd_kafka_poll(rk, 100);
      continue;
    }
    // Fenced, fatal or a state error: the transaction cannot commit.
    const bool fatal = err == RD_KAFKA_RESP_ERR__FATAL || err == RD_KAFKA_RESP_ERR__FENCED;
    throw InfraError(fatal ? FailureClass::kFatal : FailureClass::kRetryable,
                     "kafka transaction: produce to " + topic + ": " + rd_kafka_err2str(err));
  }
}

std::int32_t TransactionalProducer::partition_count(const std::string& topic,
                                                    std::chrono::milliseconds timeout) {
  return detail::partition_count(state_->handle("metadata"), topic, timeout);
}

void TransactionalProducer::commit_offset(const std::string& group, const std::string& topic,
                                          std::int32_t partition, std::int64_t offset,
                                          const std::string& metadata,
                                          std::chrono::milliseconds timeout) {
  detail::PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  auto* tp = rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  tp->offset = offset;
  // The list frees its metadata with free().
  tp->metadata = std::malloc(metadata.size());
  std::memcpy(tp->metadata, metadata.data(), metadata.size());
  tp->metadata_size = metadata.size();
  std::unique_ptr<rd_kafka_consumer_group_metadata_t,
                  decltype(&rd_kafka_consumer_group_metadata_destroy)>
      cgmd(rd_kafka_consumer_group_metadata_new(group.c_str()),
           &rd_kafka_consumer_group_metadata_destroy);
  rd_kafka_t* rk = state_->handle("commit offset");
  // librdkafka 2.0.2 waits for this call's result without a bound: the
  // timeout covers the steps it expects, but a request to a group
  // coordinator that waits for a broker's state to change never times out
  // (confluentinc/librdkafka issues 5456 and 5511; the mock-cluster test
  // reproduces it). So the call runs on a thread of its own. Should it not
  // come back within its timeout and a grace, the handle is left to that
  // thread, which frees it if the call ever returns, and this producer is
  // given up: the caller makes a new one, whose InitProducerId fences this
  // one and aborts the open transaction.
  auto call = std::make_shared<OffsetsCall>();
  std::thread([call, rk, fence = state_->fence, list = std::move(list), cgmd = std::move(cgmd),
               ms = static_cast<int>(timeout.count())] {
    rd_kafka_error_t* e = rd_kafka_send_offsets_to_transaction(rk, list.get(), cgmd.get(), ms);
    bool abandoned = false;
    {
      std::lock_guard lock(call->mutex);
      call->done = true;
      call->error = e;
      abandoned = call->abandoned;
    }
    call->done_cv.notify_all();
    if (abandoned) {
      if (e != nullptr) rd_kafka_error_destroy(e);
      rd_kafka_destroy(rk);
    }
  }).detach();
  std::unique_lock lock(call->mutex);
  const auto deadline = Clock::now() + timeout + kStuckGrace;
  bool stopped = false;
  while (!call->done_cv.wait_for(lock, kSlice, [&] { return call->done; })) {
    stopped = state_->stop_due(kStopGrace);
    if (stopped || Clock::now() >= deadline) break;
  }
  if (!call->done) {
    call->abandoned = true;
    // Under the call's lock: its thread cannot destroy the handle yet.
    state_->forget_topics();
    // Cut off before the caller makes the next producer: a request this one
    // still holds must not reach a broker after that one's (SocketFence).
    state_->fence->shut_down();
    static_cast<void>(state_->rk.release());  // the call's thread owns it now
    state_->lost = "send_offsets_to_transaction did not return within " +
                   std::to_string((timeout + kStuckGrace).count()) + " ms";
    if (stopped) throw runtime::Stopped{};
    throw InfraError(FailureClass::kRetryable,
                     "kafka transaction: commit offset: " + state_->lost +
                         " (a librdkafka defect: the group coordinator request waits without a "
                         "bound); this producer is given up and the transaction left to be "
                         "aborted by the next one");
  }
  if (call->error != nullptr) throw_error(std::exchange(call->error, nullptr), "commit offset");
}

void TransactionalProducer::commit(std::chrono::milliseconds timeout) {
  rd_kafka_t* rk = state_->handle("commit");
  // A retriable error's outcome is not known yet (a timeout): calling again
  // resumes the commit, until the timeout is spent. What the last call
  // answered decides the rest.
  detail::ErrorPtr last = state_->resumed(
      timeout, kStopGrace, [rk](int ms) { return rd_kafka_commit_transaction(rk, ms); });
  if (!last) return;
  if (rd_kafka_error_txn_requires_abort(last.get())) {
    const std::string what = rd_kafka_error_string(last.get());
    last.reset();
    abort(std::max(timeout, std::chrono::milliseconds(30000)));
    throw InfraError(FailureClass::kRetryable,
                     "kafka transaction: commit failed, aborted: " + what);
  }
  throw_error(last.release(), "commit");
}

void TransactionalProducer::abort(std::chrono::milliseconds timeout) {
  rd_kafka_t* rk = state_->handle("abort");
  if (auto e = state_->resumed(timeout, kStopGrace,
                               [rk](int ms) { return rd_kafka_abort_transaction(rk, ms); })) {
    throw_error(e.release(), "abort");
  }
}

}  // namespace millrace::kafka
