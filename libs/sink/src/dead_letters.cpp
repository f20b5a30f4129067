#include "dead_letters.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include "millrace/core/failure.hpp"
#include "millrace/metrics/family.hpp"
#include "millrace/runtime/log.hpp"

namespace millrace::sink::detail {

using core::FailureClass;
using core::InfraError;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kDlqTimeout{30000};

constexpr std::string_view kTruncated = "millrace.truncated";
constexpr std::string_view kOriginalSize = "millrace.original_size";
// A letter the broker refused as too large is sent again with at most this
// much of its payload (the topic's own limit is not known to the client).
constexpr std::size_t kResentPayloadBytes = 16 * 1024;

// What a letter in flight carries through the producer's opaque.
struct LetterRef {
  TrackerRef tracker;
  int sends = 1;
};

// Runs on whichever thread polls the producer (the loop's send() or the
// commit thread's await()).
void on_delivery(const kafka::Delivery& d) {
  if (d.opaque == nullptr) return;
  const std::unique_ptr<LetterRef> ref(static_cast<LetterRef*>(d.opaque));
  auto& t = *ref->tracker;
  std::lock_guard lock(t.mutex);
  --t.outstanding;
  if (d.ok) return;
  if (d.too_large) {
    t.too_large.emplace_back(d.copy(), ref->sends);
    return;
  }
  if (d.refused) ++t.refused;
  if (t.failed++ == 0) t.first_error = d.error;
}

kafka::ProducerConfig producer_config(const SinkConfig& config, const std::string& suffix) {
  kafka::ProducerConfig pc;
  pc.brokers = config.stream.kafka.brokers;
  pc.client_id = config.stream.kafka.client_id + suffix;
  pc.message_timeout_ms = static_cast<std::int32_t>(kDlqTimeout.count());
  // A batch commits only once its letters are acknowledged (await()), so a
  // letter lingering for company holds every kept row of its batch; letters
  // are a small share of the records, with little to gather by waiting.
  pc.linger_ms = 0;
  pc.extra = config.stream.kafka.extra;
  pc.on_delivery = on_delivery;
  return pc;
}

}  // namespace

Consumed consumed(const kafka::Message& msg) {
  Consumed c{msg.partition(),
             msg.offset(),
             msg.timestamp_ms().value_or(-1),
             std::string(msg.key().value_or("")),
             std::string(msg.payload()),
             {}};
  for (const auto& [k, v] : msg.headers()) c.headers.emplace_back(k, v);
  return c;
}

void send_rejected(LetterPort& letters, const kafka::Message& msg, std::string_view reason,
                   const core::Rejection& rejection, const TrackerRef& tracker) {
  const LetterSource source{msg.topic(),
                            msg.partition(),
                            msg.offset(),
                            msg.timestamp_ms().value_or(-1),
                            msg.key().value_or(""),
                            msg.payload(),
                            msg.headers()};
  letters.send(source,
               {{"millrace.reason", reason},
                {"millrace.field", rejection.field},
                {"millrace.detail", rejection.detail}},
               tracker);
}

void send_refused(LetterPort& letters, std::string_view topic, const Consumed& record,
                  const stream::Refusal& refusal, const TrackerRef& tracker) {
  LetterSource source{
      topic, record.partition, record.offset, record.timestamp_ms, record.key, record.payload, {}};
  for (const auto& [k, v] : record.headers) source.headers.emplace_back(k, v);
  letters.send(source,
               {{"millrace.reason", "db_refused"},
                {"millrace.sqlstate", refusal.sqlstate},
                {"millrace.detail", refusal.message}},
               tracker);
}

// The sink's dead letters' metric families (metrics/family.hpp), in the
// order of their table in docs/operations.md.
const metrics::Family kDeadLettersWritten(
    {.name = "millrace_dead_letters_total",
     .type = metrics::Type::kCounter,
     .help = "Records written to the dead-letter topic; this counts writes, "
             "including rewrites when a batch is replayed: the exact count is the "
             "`rejected` outcome",
     .labels = {"topic"},
     .group = "dead-letters"});
const metrics::Family kDeadLettersTruncated(
    {.name = "millrace_dead_letters_truncated_total",
     .type = metrics::Type::kCounter,
     .help = "Dead letters written with their payload cut to fit the topic",
     .labels = {"topic"},
     .group = "dead-letters"});
const metrics::Family kDeadLetterBlocked(
    {.name = "millrace_dead_letter_blocked",
     .type = metrics::Type::kGauge,
     .help = "1 while the dead-letter topic refuses writes for good (authorization, "
             "topic missing): the sink makes no progress, nothing commits meanwhile",
     .labels = {"topic"},
     .group = "dead-letters"});

DeadLetters::DeadLetters(const SinkConfig& config, metrics::Registry& metrics)
    : config_(config),
      dead_letters_(kDeadLettersWritten.counter(metrics, {{"topic", config.dlq_topic}})),
      truncated_(kDeadLettersTruncated.counter(metrics, {{"topic", config.dlq_topic}})),
      blocked_(kDeadLetterBlocked.gauge(metrics, {{"topic", config.dlq_topic}})) {}

void DeadLetters::start() {
  dlq_ = std::make_unique<kafka::RenewingProducer>(producer_config(config_, "-dlq"));
  dlq_partitions_ = dlq_->current()->partition_count(config_.dlq_topic, kDlqTimeout);
}

void DeadLetters::flush() {
  if (resend_) resend_->flush(kDlqTimeout);
  if (dlq_ && dlq_->flush(kDlqTimeout) != 0) {
    runtime::log_warn("sink",
                      "dead-letter producer still had messages in flight at exit; their "
                      "source offsets were not committed and will be replayed");
  }
}

void DeadLetters::send(const LetterSource& source, const LetterReasons& why,
                       const TrackerRef& tracker) {
  const std::string partition = std::to_string(source.partition);
  const std::string offset = std::to_string(source.offset);
  const std::string timestamp = std::to_string(source.timestamp_ms);
  std::vector<kafka::OutHeader> headers;
  headers.reserve(source.headers.size() + why.size() + 6);
  for (const auto& [key, value] : source.headers) headers.push_back({key, value});
  for (const auto& [key, value] : why) headers.push_back({key, value});
  headers.push_back({"millrace.source.topic", source.topic});
  headers.push_back({"millrace.source.partition", partition});
  headers.push_back({"millrace.source.offset", offset});
  headers.push_back({"millrace.source.timestamp", timestamp});
  std::size_t size = source.key.size() + source.payload.size();
  for (const auto& h : headers) size += h.key.size() + h.value.size();
  std::string_view payload = source.payload;
  const std::string original_size = std::to_string(source.payload.size());
  const auto limit = static_cast<std::size_t>(config_.dlq_max_bytes);
  if (size > limit) {
    const std::size_t overhead = size - source.payload.size() + 64;
    payload = payload.substr(0, limit > overhead ? limit - overhead : 0);
    headers.push_back({kTruncated, "true"});
    headers.push_back({kOriginalSize, original_size});
    truncated_.inc();
  }
  produce_letter(source.partition, source.key, payload, headers, tracker);
}

void DeadLetters::await(const TrackerRef& tracker) {
  auto& letters = *tracker;
  const auto deadline = std::chrono::steady_clock::now() + kDlqTimeout;
  for (;;) {
    std::vector<std::pair<kafka::OwnedRecord, int>> resend;
    std::optional<std::string> refused;  // why, when the topic refuses them
    {
      std::lock_guard lock(letters.mutex);
      if (letters.refused != 0) {
        refused = letters.first_error;
      } else if (letters.failed != 0) {
        throw InfraError(FailureClass::kRetryable, "dead-letter write to " + config_.dlq_topic +
                                                       " failed: " + letters.first_error);
      } else {
        resend.swap(letters.too_large);
        if (letters.outstanding == 0 && resend.empty()) {
          blocked_.set(0);
          return;
        }
      }
    }
    if (refused) {
      // Retrying is all the sink can do, but loudly: an operator must act.
      blocked_.set(1);
      runtime::log_error("sink", "dead-letter topic " + config_.dlq_topic +
                                     " refuses writes: " + *refused +
                                     "; no progress until it accepts them (create the topic "
                                     "or grant this client Write on it)");
      // The batch goes again through new producers: a topic created anew
      // is a new one, whose partitions an old producer would write with the
      // sequence numbers it kept from the deleted topic's (librdkafka 2.0.2
      // keeps them for a partition's return). What the old ones still hold
      // is purged, reported failed, and written again with its batch.
      dlq_->renew();
      if (resend_) resend_->renew();
      throw InfraError(FailureClass::kRetryable,
                       "dead-letter write to " + config_.dlq_topic + " refused: " + *refused);
    }
    for (auto& [letter, sends] : resend) send_again(letter, sends, tracker);
    if (std::chrono::steady_clock::now() >= deadline) {
      throw InfraError(FailureClass::kRetryable,
                       "dead-letter write to " + config_.dlq_topic + " failed: timed out");
    }
    // The loop thread polls too and may serve this batch's reports: wait
    // briefly, then look again.
    poll(*dlq_, milliseconds(5));
    if (resend_) poll(*resend_, milliseconds(0));
  }
}

// A letter the broker refused as too large. First it goes again whole and
// alone: it may have been refused for the batch it shared. Refused alone,
// it keeps kResentPayloadBytes of its payload, then half of that each time.
void DeadLetters::send_again(kafka::OwnedRecord& letter, int sends, const TrackerRef& tracker) {
  std::int32_t partition = 0;
  for (const auto& [key, value] : letter.headers) {
    if (key == "millrace.source.partition") partition = std::stoi(value);
  }
  if (sends == 1) {
    std::vector<kafka::OutHeader> headers;
    for (const auto& [key, value] : letter.headers) headers.push_back({key, value});
    produce_letter(partition, letter.key, letter.value, headers, tracker, sends + 1);
    return;
  }
  std::string original_size = std::to_string(letter.value.size());
  bool marked = false;
  std::vector<kafka::OutHeader> headers;
  for (const auto& [key, value] : letter.headers) {
    if (key == kOriginalSize) {
      original_size = value;  // truncated before: keep the first size
      marked = true;
      continue;
    }
    if (key == kTruncated) continue;
    headers.push_back({key, value});
  }
  if (marked && letter.value.empty()) {
    // Even its headers are too large: nothing left to cut.
    std::lock_guard lock(tracker->mutex);
    if (tracker->failed++ == 0) tracker->first_error = "a dead letter is too large even empty";
    return;
  }
  headers.push_back({kTruncated, "true"});
  headers.push_back({kOriginalSize, original_size});
  letter.value.resize(marked ? letter.value.size() / 2
                             : std::min(letter.value.size(), kResentPayloadBytes));
  if (!marked) truncated_.inc();
  produce_letter(partition, letter.key, letter.value, headers, tracker, sends + 1);
}

void DeadLetters::produce_letter(std::int32_t source_partition, std::string_view key,
                                 std::string_view payload,
                                 const std::vector<kafka::OutHeader>& headers,
                                 const TrackerRef& tracker, int sends) {
  {
    std::lock_guard lock(tracker->mutex);
    ++tracker->outstanding;
  }
  // Deleted by the delivery report. A report never served (the process
  // exits with letters in flight) leaks it, which is harmless then.
  auto ref = std::make_unique<LetterRef>(LetterRef{tracker, sends});
  kafka::RenewingProducer& renewing = sends > 1 ? resender() : *dlq_;
  const auto producer = renewing.current();
  try {
    producer->produce(config_.dlq_topic, source_partition % dlq_partitions_, key, payload, headers,
                      ref.get());
  } catch (const InfraError& e) {
    if (producer->fatal() || producer->retired()) {
      // Replaced (now, or by a refusal on the commit thread); the batch's
      // letters are written again when the loop retries it, as after any
      // failed letter.
      poll(renewing, milliseconds(0));
      throw InfraError(FailureClass::kRetryable, std::string("dead-letter write to ") +
                                                     config_.dlq_topic + " failed: " + e.what());
    }
    // librdkafka will not even queue it: its metadata says the topic is
    // gone. The batch cannot commit; await() says so.
    std::lock_guard lock(tracker->mutex);
    --tracker->outstanding;
    ++tracker->refused;
    if (tracker->failed++ == 0) tracker->first_error = e.what();
    return;
  }
  ref.release();
  poll(renewing, milliseconds(0));
  dead_letters_.inc();
}

// Letters the broker refused as too large go again one per request, so
// that a refusal is the letter's own and not its batch's (the broker
// judges a whole record batch against max.message.bytes). Commit thread.
kafka::RenewingProducer& DeadLetters::resender() {
  if (!resend_) {
    auto pc = producer_config(config_, "-dlq-resend");
    pc.extra["batch.num.messages"] = "1";
    resend_ = std::make_unique<kafka::RenewingProducer>(pc);
  }
  return *resend_;
}

void DeadLetters::poll(kafka::RenewingProducer& producer, milliseconds timeout) {
  if (const auto reason = producer.poll(timeout)) {
    runtime::log_error("sink", "the dead-letter producer failed fatally (" + *reason +
                                   "); replaced it with a new one: the letters it held are "
                                   "written again with their batch");
  }
}

}  // namespace millrace::sink::detail
