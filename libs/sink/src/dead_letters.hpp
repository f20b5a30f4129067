#pragma once

// The sink's dead letters: invalid records, and rows PostgreSQL refused,
// written to the dead-letter topic with headers saying why and where each
// came from. A batch's letters must be durable in Kafka before its offsets
// move in PostgreSQL (await()), or a crash in between would lose them.
//
// Threads. send() runs on the loop thread (invalid records) and the commit
// thread (refused rows); await() and flush() on the commit thread. Delivery
// reports are served by whichever thread polls the producer.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/core/rejection.hpp"
#include "millrace/kafka/consumer.hpp"
#include "millrace/kafka/producer.hpp"
#include "millrace/kafka/renewing_producer.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/sink/config.hpp"
#include "millrace/stream/batch.hpp"
#include "millrace/stream/handler.hpp"

namespace millrace::sink::detail {

// Delivery reports of one batch's dead letters. Counted per batch because the
// next batch produces its own while this one commits: waiting for the
// producer's whole queue to drain could wait for ever. Each letter in flight
// holds a reference (through the producer's opaque), so a batch dropped by a
// reset may still be reported after its state is gone.
struct LetterTracker {
  std::mutex mutex;
  std::uint64_t outstanding = 0;
  std::uint64_t failed = 0;
  // Failures no retry heals: the topic refuses writes (authorization, gone).
  std::uint64_t refused = 0;
  std::string first_error;
  // Letters the broker found too large, to send again (alone, then
  // shorter), with how often each was sent.
  std::vector<std::pair<kafka::OwnedRecord, int>> too_large;
};
using TrackerRef = std::shared_ptr<LetterTracker>;

// Where a dead letter came from.
struct LetterSource {
  std::string_view topic;
  std::int32_t partition;
  std::int64_t offset;
  std::int64_t timestamp_ms;
  std::string_view key;
  std::string_view payload;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
};

// Millrace's headers saying why a record is a dead letter.
using LetterReasons = std::vector<std::pair<std::string_view, std::string_view>>;

// A kept record as consumed: what a dead letter of it needs, should
// PostgreSQL refuse its row.
struct Consumed {
  std::int32_t partition;
  std::int64_t offset;
  std::int64_t timestamp_ms;
  std::string key;
  std::string payload;
  std::vector<std::pair<std::string, std::string>> headers;
};
Consumed consumed(const kafka::Message& msg);

// Where the handler sends its dead letters: DeadLetters below, or the unit
// tests' letters in memory.
class LetterPort {
 public:
  virtual ~LetterPort() = default;

  // Makes the producer and reads the topic's partition count.
  virtual void start() = 0;
  // At stop: waits for the letters in flight, and says so when some are not.
  virtual void flush() = 0;

  // Sends one dead letter: the source record (payload, key, its own
  // headers) plus `why` and where it came from. A letter over
  // dlq_max_bytes keeps the start of its payload. Counted in `tracker`.
  virtual void send(const LetterSource& source, const LetterReasons& why,
                    const TrackerRef& tracker) = 0;

  // Returns once every letter counted in `tracker` is acknowledged, sending
  // again those the broker found too large. Throws core::InfraError
  // (retryable) on a failed or refused write, or after 30 s.
  virtual void await(const TrackerRef& tracker) = 0;
};

// The letter of a record validation rejected, with `reason` (a reason code)
// and the rejection's field and detail.
void send_rejected(LetterPort& letters, const kafka::Message& msg, std::string_view reason,
                   const core::Rejection& rejection, const TrackerRef& tracker);

// The letter of a kept record of `topic` PostgreSQL refused (db_refused).
void send_refused(LetterPort& letters, std::string_view topic, const Consumed& record,
                  const stream::Refusal& refusal, const TrackerRef& tracker);

// For each refusal, the row of `rows` it names is dead-lettered, moved from
// persisted to rejected in `batch`'s tallies, and taken out of `rows`.
template <typename RowT>
void refuse_rows(LetterPort& letters, std::string_view topic, stream::Batch& batch,
                 std::vector<RowT>& rows, const std::vector<stream::Refusal>& refused,
                 const TrackerRef& tracker) {
  for (const auto& r : refused) {
    const auto it = std::find_if(rows.begin(), rows.end(), [&](const RowT& row) {
      return row.partition == r.record.partition && row.offset == r.record.offset;
    });
    if (it == rows.end()) continue;
    send_refused(letters, topic, *it, r, tracker);
    batch.at(it->partition)
        .tally.move({core::Outcome::kPersisted, ""}, {core::Outcome::kRejected, "db_refused"}, 1);
    rows.erase(it);
  }
}

class DeadLetters final : public LetterPort {
 public:
  // `config` must outlive this.
  DeadLetters(const SinkConfig& config, metrics::Registry& metrics);

  void start() override;
  void flush() override;
  void send(const LetterSource& source, const LetterReasons& why,
            const TrackerRef& tracker) override;
  void await(const TrackerRef& tracker) override;

 private:
  void send_again(kafka::OwnedRecord& letter, int sends, const TrackerRef& tracker);
  void produce_letter(std::int32_t source_partition, std::string_view key, std::string_view payload,
                      const std::vector<kafka::OutHeader>& headers, const TrackerRef& tracker,
                      int sends = 1);
  kafka::RenewingProducer& resender();
  // Serves delivery reports; a producer that failed fatally is replaced
  // (kafka/renewing_producer.hpp), and said so in the log.
  void poll(kafka::RenewingProducer& producer, std::chrono::milliseconds timeout);

  const SinkConfig& config_;
  metrics::Counter dead_letters_;
  metrics::Counter truncated_;
  metrics::Gauge blocked_;
  std::unique_ptr<kafka::RenewingProducer> dlq_;
  std::unique_ptr<kafka::RenewingProducer> resend_;  // created on the first too-large letter
  std::int32_t dlq_partitions_ = 1;
};

}  // namespace millrace::sink::detail
