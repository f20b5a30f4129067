#include "kafka_publisher.hpp"

#include <functional>
#include <stdexcept>
#include <utility>

#include "millrace/changefeed/debezium.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/kafka/admin.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/retry.hpp"
#include "pg_table_facts.hpp"

namespace millrace::changefeed {

using core::FailureClass;
using core::InfraError;
using std::chrono::seconds;

namespace {

constexpr auto kSlowPublish = seconds(5);
constexpr auto kCheckpointTimeout = seconds(10);

kafka::TransactionalConfig producer_config(const ChangefeedConfig& c, std::int32_t timeout_ms,
                                           std::function<bool()> stopping) {
  kafka::TransactionalConfig t;
  t.stopping = std::move(stopping);
  t.transaction_timeout_ms = timeout_ms;
  t.brokers = c.kafka.brokers;
  t.client_id = c.kafka.client_id;
  t.transactional_id = c.transactional_id;
  t.extra = c.kafka.extra;
  // A transaction begun while the broker still completes the one before is
  // answered CONCURRENT_TRANSACTIONS, and librdkafka retries after
  // retry.backoff.ms, 100 ms by default: back-to-back transactions then
  // cost about 80 ms each instead of about 20 (bench/paced_transactions.cpp,
  // docs/benchmarks.md), and a feed behind its stream never catches up. An
  // operator's value still wins.
  t.extra.try_emplace("retry.backoff.ms", "5");
  return t;
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

outbox::Options outbox_options(const ChangefeedConfig& c) {
  outbox::Options o;
  o.id_column = c.outbox_id_column;
  o.key_column = c.outbox_key_column;
  o.payload_column = c.outbox_payload_column;
  o.timestamp_column = c.outbox_timestamp_column;
  o.route_by = c.outbox_route_by;
  o.topic_regex = c.outbox_topic_regex;
  o.topic = c.outbox_topic;
  o.tombstone_on_empty_payload = c.outbox_tombstone_on_empty_payload;
  o.additional = outbox::parse_additional_fields(c.outbox_additional_fields);
  o.expand_json_payload = c.outbox_expand_json_payload;
  o.invalid_op = c.outbox_invalid_op;
  o.feed_topic = c.kafka.topic;
  return o;
}

}  // namespace

std::optional<Checkpoint> read_checkpoint(const ChangefeedConfig& config,
                                          const std::function<bool()>& stopping) {
  const auto committed =
      kafka::committed_offset(config.kafka.brokers, config.kafka.extra, config.checkpoint_group,
                              config.kafka.topic, 0, seconds(30), stopping);
  if (!committed) return std::nullopt;
  const auto checkpoint = parse_checkpoint(committed->metadata);
  if (!checkpoint) {
    throw InfraError(FailureClass::kFatal, "checkpoint group " + config.checkpoint_group +
                                               " holds metadata that is not a checkpoint: \"" +
                                               committed->metadata + "\"");
  }
  return checkpoint;
}

KafkaPublisher::KafkaPublisher(const ChangefeedConfig& config, std::int32_t transaction_timeout_ms,
                               std::function<bool()> stopping, outbox::Counts* outbox_counts)
    : config_(config),
      producer_(producer_config(config, transaction_timeout_ms, std::move(stopping)), seconds(60)) {
  topics_.insert(config.kafka.topic);
  if (config.format == Format::kOutbox) {
    if (outbox_counts == nullptr) throw std::logic_error("the outbox format needs its counts");
    format_ = outbox::make_format(outbox_options(config), *outbox_counts);
    return;
  }
  if (config.format != Format::kDebezium) {
    format_ = millrace_format(config.kafka.topic);
    return;
  }
  table_facts_ = std::make_unique<PgTableFacts>(config);
  debezium::Options o;
  o.prefix = config.kafka.topic;
  o.database = table_facts_->database();
  o.schemas = config.schemas;
  o.decimal = config.decimal_handling;
  o.topic_per_table = config.topic_per_table;
  o.tombstones = config.tombstones;
  o.truncates = config.truncates;
  o.transaction_metadata = config.transaction_metadata;
  o.version = std::string("millrace-") + metrics::build_version();
  format_ = debezium::make_format(std::move(o), *table_facts_, &now_us);
}

KafkaPublisher::~KafkaPublisher() = default;

void KafkaPublisher::publish(const std::vector<Transaction>& batch, const Checkpoint& through) {
  const auto started = std::chrono::steady_clock::now();
  std::size_t changes = 0;
  begin();
  // The checkpoint goes into the transaction first. A transaction begun
  // right after the one before committed is refused while the broker still
  // writes that one's markers (CONCURRENT_TRANSACTIONS). librdkafka 2.0.2
  // retries adding the offsets after retry.backoff.ms (5 ms here) but
  // adding a partition after a fixed 20 ms; once the offsets are in, the
  // markers are written and the partitions are added at the first try.
  std::chrono::steady_clock::time_point offsets_sent;
  try {
    checkpoint(through);
    offsets_sent = std::chrono::steady_clock::now();
    for (const auto& tx : batch) {
      records_.clear();
      format_->begin(tx, records_);
      produce_records();
      for (const auto& change : tx.changes) add(change);
      records_.clear();
      format_->end(tx, records_);
      produce_records();
      changes += tx.changes.size();
    }
  } catch (const InfraError&) {
    abort();
    throw;
  }
  const auto produced = std::chrono::steady_clock::now();
  producer_.commit(seconds(60));
  const auto ended = std::chrono::steady_clock::now();
  // A publish that takes seconds (a coordinator loading or moving, a broker
  // that is slow to write the markers) holds every change behind it: say so
  // at warn level, with where the time went.
  const auto level =
      ended - started >= kSlowPublish ? runtime::Level::kWarn : runtime::Level::kDebug;
  if (runtime::logs(level)) {
    const auto ms = [](auto from, auto to) {
      return std::to_string(
          std::chrono::duration_cast<std::chrono::microseconds>(to - from).count() / 1000.0);
    };
    runtime::log(level, "changefeed",
                 "published " + std::to_string(changes) + " change(s) of " +
                     std::to_string(batch.size()) + " transaction(s) in one Kafka transaction, " +
                     ms(started, ended) + " ms: checkpoint offset " + ms(started, offsets_sent) +
                     ", produce " + ms(offsets_sent, produced) + ", commit " + ms(produced, ended));
  }
}

void KafkaPublisher::begin() {
  producer_.begin();
}

void KafkaPublisher::add(const Change& change) {
  records_.clear();
  format_->encode(change, records_);
  produce_records();
}

void KafkaPublisher::produce_records() {
  for (const auto& r : records_) {
    ensure_topic(r.topic);
    headers_.clear();
    for (const auto& [k, v] : r.headers) headers_.push_back({k, v});
    producer_.produce(r.topic, r.key ? std::string_view(*r.key) : std::string_view(),
                      r.value ? std::string_view(*r.value) : std::string_view(), headers_,
                      r.timestamp_ms);
  }
}

void KafkaPublisher::ensure_topic(const std::string& topic) {
  if (topics_.count(topic) != 0) return;
  try {
    producer_.partition_count(topic, seconds(10));
  } catch (const kafka::UnknownTopicError&) {
    const auto partitions = config_.format == Format::kOutbox && config_.outbox_partitions > 0
                                ? static_cast<std::int32_t>(config_.outbox_partitions)
                                : producer_.partition_count(config_.kafka.topic, seconds(10));
    // The broker's default replication factor, as for a topic it creates itself.
    kafka::create_topic(config_.kafka.brokers, topic, partitions, -1, seconds(30),
                        config_.kafka.extra);
    runtime::log_info("changefeed", "created topic " + topic + " with " +
                                        std::to_string(partitions) + " partition(s)");
  }
  topics_.insert(topic);
}

void KafkaPublisher::checkpoint(const Checkpoint& through) {
  // The offset itself only has to grow; the metadata is the checkpoint.
  // It takes milliseconds when the group coordinator answers, and seconds
  // when it is loading or moving; past 10 s (and the producer's grace,
  // transactional.hpp) the producer is given up and the session starts
  // again from the last checkpoint, instead of waiting on a coordinator
  // request that librdkafka 2.0.2 may never finish.
  producer_.commit_offset(config_.checkpoint_group, config_.kafka.topic, 0,
                          static_cast<std::int64_t>(through.commit_lsn & 0x7FFFFFFFFFFFFFFFULL),
                          encode_checkpoint(through), kCheckpointTimeout);
}

void KafkaPublisher::abort() noexcept {
  try {
    producer_.abort(seconds(30));
  } catch (const std::exception&) {
    // A fenced producer cannot abort; otherwise the abort failing too leaves
    // the transaction to the broker's transaction timeout, or to the next
    // instance's init, which aborts it.
  } catch (const runtime::Stopped&) {
    // Stopped while the brokers did not answer: left to them the same.
  }
}

}  // namespace millrace::changefeed
