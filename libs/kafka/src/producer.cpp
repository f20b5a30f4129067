#include "millrace/kafka/producer.hpp"

#include <atomic>
#include <mutex>
#include <vector>

#include "handles.hpp"
#include "millrace/core/failure.hpp"

namespace millrace::kafka {

using core::FailureClass;
using core::InfraError;

struct Producer::State {
  detail::HandlePtr rk;
  std::atomic<bool> retired{false};  // purge() was called
  mutable std::mutex stats_mutex;    // delivery reports arrive on the polling thread
  DeliveryStats stats;
  std::function<void(const Delivery&)> on_delivery;
};

namespace {

[[noreturn]] void throw_produce_error(rd_kafka_t* rk, const std::string& topic,
                                      std::int32_t partition, rd_kafka_resp_err_t err) {
  char fatal[512];
  if (rd_kafka_fatal_error(rk, fatal, sizeof fatal) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw InfraError(FailureClass::kFatal, std::string("kafka producer fatal error: ") + fatal);
  }
  throw InfraError(FailureClass::kFatal, "produce to " + topic + "[" + std::to_string(partition) +
                                             "]: " + rd_kafka_err2str(err));
}

void refuse_if_retired(const std::atomic<bool>& retired) {
  if (retired.load(std::memory_order_acquire)) {
    throw InfraError(FailureClass::kRetryable,
                     "this Kafka producer was replaced: its messages go through the new one");
  }
}

}  // namespace

Producer::Producer(const ProducerConfig& config) : state_(std::make_unique<State>()) {
  detail::ConfPtr conf(rd_kafka_conf_new());
  detail::set_property(conf.get(), "bootstrap.servers", config.brokers);
  detail::set_property(conf.get(), "client.id", config.client_id);
  detail::set_property(conf.get(), "enable.idempotence", config.idempotent ? "true" : "false");
  detail::set_property(conf.get(), "acks", "all");
  detail::set_property(conf.get(), "linger.ms", std::to_string(config.linger_ms));
  detail::set_property(conf.get(), "message.timeout.ms", std::to_string(config.message_timeout_ms));
  detail::set_properties(conf.get(), config.extra);
  detail::install_logger(conf.get());
  state_->on_delivery = config.on_delivery;
  rd_kafka_conf_set_opaque(conf.get(), state_.get());
  rd_kafka_conf_set_dr_msg_cb(
      conf.get(), [](rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) noexcept {
        auto* state = static_cast<State*>(opaque);
        {
          std::lock_guard lock(state->stats_mutex);
          if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            ++state->stats.delivered;
          } else {
            if (state->stats.failed++ == 0) state->stats.first_error = rd_kafka_err2str(msg->err);
          }
        }
        if (!state->on_delivery) return;
        Delivery d;
        d.opaque = msg->_private;
        d.partition = msg->partition;
        d.offset = msg->offset;
        d.latency_us = rd_kafka_message_latency(msg);
        d.ok = msg->err == RD_KAFKA_RESP_ERR_NO_ERROR;
        d.unknown_partition = msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
                              msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        d.too_large = msg->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
                      msg->err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE ||
                      msg->err == RD_KAFKA_RESP_ERR_INVALID_RECORD;
        d.refused = msg->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                    msg->err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED ||
                    msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                    msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                    msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
        d.raw = msg;
        if (!d.ok) d.error = rd_kafka_err2str(msg->err);
        state->on_delivery(d);
      });
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err);
  if (rk == nullptr) throw InfraError(FailureClass::kFatal, std::string("kafka producer: ") + err);
  conf.release();  // owned by rk now
  state_->rk.reset(rk);
}

Producer::~Producer() = default;

OwnedRecord Delivery::copy() const {
  const auto* msg = static_cast<const rd_kafka_message_t*>(raw);
  OwnedRecord out;
  if (msg == nullptr) return out;
  if (msg->key != nullptr) out.key.assign(static_cast<const char*>(msg->key), msg->key_len);
  if (msg->payload != nullptr) out.value.assign(static_cast<const char*>(msg->payload), msg->len);
  rd_kafka_headers_t* hdrs = nullptr;
  // librdkafka's getter takes a non-const message; it only reads it.
  if (rd_kafka_message_headers(const_cast<rd_kafka_message_t*>(msg), &hdrs) ==
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    for (std::size_t i = 0;
         rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      out.headers.emplace_back(name, value == nullptr
                                         ? std::string()
                                         : std::string(static_cast<const char*>(value), size));
    }
  }
  return out;
}

void Producer::produce(std::string_view topic, std::int32_t partition, std::string_view key,
                       std::string_view value, std::span<const OutHeader> headers, void* opaque) {
  refuse_if_retired(state_->retired);
  rd_kafka_headers_t* hdrs = detail::make_headers(headers);
  const std::string topic_name(topic);
  for (;;) {
    const rd_kafka_resp_err_t err =
        rd_kafka_producev(state_->rk.get(), RD_KAFKA_V_TOPIC(topic_name.c_str()),
                          RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                          RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;  // headers now owned by the message
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      // Backpressure: serve delivery reports until the queue drains a little.
      rd_kafka_poll(state_->rk.get(), 10);
      continue;
    }
    if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);
    throw_produce_error(state_->rk.get(), topic_name, partition, err);
  }
}

Enqueue Producer::try_produce(const std::string& topic, std::int32_t partition,
                              std::string_view key, std::string_view value,
                              std::span<const OutHeader> headers, void* opaque) {
  refuse_if_retired(state_->retired);
  rd_kafka_headers_t* hdrs = detail::make_headers(headers);
  const rd_kafka_resp_err_t err =
      rd_kafka_producev(state_->rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                        RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Enqueue::kQueued;  // headers owned by the message
  if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);
  switch (err) {
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
      return Enqueue::kQueueFull;
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return Enqueue::kUnknownPartition;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
      return Enqueue::kTooLarge;
    default:
      throw_produce_error(state_->rk.get(), topic, partition, err);
  }
}

void Producer::poll() {
  rd_kafka_poll(state_->rk.get(), 0);
}

void Producer::poll(std::chrono::milliseconds timeout) {
  rd_kafka_poll(state_->rk.get(), static_cast<int>(timeout.count()));
}

int Producer::queue_length() const {
  return rd_kafka_outq_len(state_->rk.get());
}

int Producer::flush(std::chrono::milliseconds timeout) {
  rd_kafka_flush(state_->rk.get(), static_cast<int>(timeout.count()));
  return rd_kafka_outq_len(state_->rk.get());
}

std::optional<std::string> Producer::fatal() const {
  char reason[512];
  if (rd_kafka_fatal_error(state_->rk.get(), reason, sizeof reason) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  return std::string(reason);
}

bool Producer::retired() const {
  return state_->retired.load(std::memory_order_acquire);
}

void Producer::purge() {
  state_->retired.store(true, std::memory_order_release);
  rd_kafka_purge(state_->rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
}

DeliveryStats Producer::stats() const {
  std::lock_guard lock(state_->stats_mutex);
  return state_->stats;
}

std::int32_t Producer::partition_count(const std::string& topic,
                                       std::chrono::milliseconds timeout) {
  return detail::partition_count(state_->rk.get(), topic, timeout);
}

}  // namespace millrace::kafka
