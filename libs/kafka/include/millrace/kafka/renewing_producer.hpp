#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "millrace/kafka/producer.hpp"

namespace millrace::kafka {

// A producer for a service that must stay up through a fatal producer error.
//
// An idempotent producer that loses track of its sequence numbers raises a
// fatal error and can send nothing more: librdkafka 2.0.2 does so after a
// message timed out while possibly persisted (a broker cut off mid-request),
// a bug fixed in 2.3.0. A service that exits on it drops every request in
// flight; this one replaces the handle instead. The failed handle's messages
// are purged, each answered by a failed delivery report (their senders learn
// they were not written and may send them again), and a new handle, with a
// new producer id, takes the next messages. Nothing is written twice by the
// renewal itself: a purged message is reported failed, never resent.
//
// Caller contract: every member may be called from any thread (reports are
// served by whichever thread polls; when two polls find the handle failed,
// one renews it and only that one returns the reason). Every handle shares
// one ProducerConfig, so on_delivery sees the reports of all of them.
class RenewingProducer {
 public:
  // Creates the first handle; throws core::InfraError as Producer does.
  explicit RenewingProducer(ProducerConfig config);
  ~RenewingProducer();
  RenewingProducer(const RenewingProducer&) = delete;
  RenewingProducer& operator=(const RenewingProducer&) = delete;

  // The handle to enqueue to. A caller holds it for one batch of messages:
  // if it fails fatally meanwhile, its try_produce() throws and the next
  // current() is the new one.
  std::shared_ptr<Producer> current() const;

  // Serves delivery reports (waiting up to `timeout` on the current handle)
  // and those of handles retired earlier, which are dropped once every
  // message of theirs is reported and no caller holds them. When the
  // current handle failed fatally, replaces it and returns librdkafka's
  // reason. Throws core::InfraError if the new handle cannot be created.
  std::optional<std::string> poll(std::chrono::milliseconds timeout);

  // Replaces the current handle now, as after a fatal error: its messages
  // are purged (each reported failed) and the next ones go through a new
  // handle with a new producer id. For a topic that may come back as a new
  // one: librdkafka 2.0.2 keeps a vanished partition's sequence numbers for
  // its return (meant for a broker that reported it missing by mistake), and
  // would write the re-created partition with them. Throws core::InfraError
  // if the new handle cannot be created.
  void renew();

  // Messages of every handle not yet reported.
  int queue_length() const;
  // Waits until every handle's messages are reported or `timeout` passes;
  // returns the messages still unreported.
  int flush(std::chrono::milliseconds timeout);
  // Delivery reports of every handle so far.
  DeliveryStats stats() const;
  // Handles replaced, after a fatal error or by renew().
  std::uint64_t renewals() const;

 private:
  // Makes a new current handle in place of `now` and purges `now`'s
  // messages; false when another thread replaced `now` first.
  bool replace(const std::shared_ptr<Producer>& now);

  const ProducerConfig config_;
  mutable std::mutex mutex_;  // current_, retired_, renewals_, retired_stats_
  std::shared_ptr<Producer> current_;
  std::vector<std::shared_ptr<Producer>> retired_;
  std::uint64_t renewals_ = 0;
  DeliveryStats retired_stats_;  // of handles dropped
};

}  // namespace millrace::kafka
