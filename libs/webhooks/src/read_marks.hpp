#pragma once

// Commit order across the change topic's partitions. The feed publishes
// every change in commit order, each to its key's partition, so a reader
// of several partitions meets them out of commit order across keys. An
// endpoint in commit order (the default) is sent change C only once no
// change committed before C can still be enqueued: for every partition of
// the topic, either
//  - the group has enqueued a change of that partition at or past C (a
//    partition's changes come in commit order), or
//  - the group read that partition to the end of its log (its high
//    watermark) after C was enqueued: C's Kafka transaction, and so every
//    one before it, had committed by then, so their records on that
//    partition were below that end, and were read and enqueued.
// Not its last stable offset: a committed Kafka transaction's markers are
// written to its partitions one after another, so a partition can still
// hold one back (its last stable offset before the transaction's record
// there) while another already shows the transaction committed. Its
// records are in every partition's log before the commit begins (the
// producer flushes them first), so the high watermark is past them.
// These marks (webhook_read_marks) are written in each batch's transaction,
// from how far the consumer had read every partition it owns at the seal
// (stream::Batch::read_to), and, while it is idle, by a marker thread from
// stream::Handler::idle(). Times are PostgreSQL's clock, on both sides: a
// delivery's enqueued_at and a mark's caught_up_at are each the start of
// the transaction that wrote it (now()). A change is read before the
// transaction that enqueues it begins (a batch is sealed first), so its
// Kafka transaction had committed before its enqueued_at; and a mark's ends
// are asked after its transaction began. So a mark caught up at or after a
// delivery's enqueued_at releases it, those of its own batch included. The
// ends are asked as the batch's transaction begins, while its fence is
// written, not before its BEGIN was answered; its rows and marks go in one
// statement once they are known (batch_rows.hpp). The
// claim's side of the rule is in pg_queue.cpp.

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "batch_rows.hpp"
#include "millrace/kafka/options.hpp"

namespace millrace::webhooks::detail {

// The ends of the change topic's partitions' logs (the high watermarks,
// records of open transactions included), asked of the brokers. Throws
// core::InfraError (retryable) when they do not answer.
class EndOffsets {
 public:
  virtual ~EndOffsets() = default;
  virtual std::map<std::int32_t, std::int64_t> ends() = 0;
};

std::unique_ptr<EndOffsets> make_kafka_end_offsets(const kafka::KafkaClientOptions& kafka);

// The ends of every partition `count()` names, with the count asked on a
// thread of its own at the same time as `ends_of(counted)`, the ends of the
// partitions the last call found (`counted`, 0 at first, updated here).
// Only when the count differs is `ends_of` asked again, for the new count;
// a failure of the first `ends_of` is thrown only when the count did not
// change. Each answer is asked for after the call begins.
std::map<std::int32_t, std::int64_t> ends_counted(
    const std::function<std::int32_t()>& count,
    const std::function<std::map<std::int32_t, std::int64_t>(std::int32_t)>& ends_of,
    std::int32_t& counted);

// A mark for every partition the ends name: at its end where `read_to` is
// at or past the end (a partition missing from `read_to` is not).
std::vector<Mark> marks_for(const std::map<std::int32_t, std::int64_t>& ends,
                            const std::map<std::int32_t, std::int64_t>& read_to,
                            const std::map<std::int32_t, std::string>& last_ids);

class ReadMarks {
 public:
  ReadMarks(std::string group, std::string topic, std::unique_ptr<EndOffsets> ends);

  // The ends, being asked on a thread of their own.
  using Ends = std::future<std::map<std::int32_t, std::int64_t>>;

  // In a batch's transaction, once PostgreSQL answered its BEGIN (the
  // transaction's start, now(), is the marks' time): asks the ends in the
  // background, while the batch's fence is written.
  Ends ask_ends();

  // In the same transaction, with what ask_ends() began: the batch's
  // deliveries (`rows`: its changes in record order, each id once, and
  // their routes) and its marks,
  // from `read_to` as the batch carries it and the highest change id per
  // partition, in one statement (batch_rows.hpp). It sends the workers'
  // wake-up when a delivery was enqueued, or when a partition was at its
  // end (deliveries waiting on it may go now).
  RowsWritten write(pqxx::work& tx, Ends& ends, const std::map<std::int32_t, std::int64_t>& read_to,
                    const std::map<std::int32_t, std::string>& last_ids, BatchRows rows);

  // On the consumer's loop thread while it is idle: how far it has read,
  // with everything read committed. Does not block on I/O.
  void idle(const std::map<std::int32_t, std::int64_t>& read_to);

  // The marker thread, in a transaction of its own on `connection`: writes
  // the idle positions when they are new, or when deliveries were enqueued
  // since it last found its partitions at their ends (another member's,
  // maybe, waiting on this one's partitions), and then wakes the delivery
  // workers. Returns whether it wrote a partition at its end. Throws what
  // libpqxx and EndOffsets throw.
  bool write_idle(pqxx::connection& connection);

 private:
  // Writes `rows` with the marks for `ends`, `read_to` and `last_ids`, and
  // keeps their time when one was at its end.
  RowsWritten write_marked(pqxx::work& tx, BatchRows rows,
                           const std::map<std::int32_t, std::int64_t>& ends,
                           const std::map<std::int32_t, std::int64_t>& read_to,
                           const std::map<std::int32_t, std::string>& last_ids);

  // Keeps `when`, PostgreSQL's time of marks that found a partition at its
  // end, if later than the last.
  void found_at_end(const std::string& when);

  const std::string group_;
  const std::string topic_;
  std::mutex mutex_;       // the idle positions and the last time at the end (never across I/O)
  std::mutex ends_mutex_;  // the Kafka client (two threads)
  std::unique_ptr<EndOffsets> ends_;
  std::optional<std::map<std::int32_t, std::int64_t>> idle_;
  std::uint64_t idle_seq_ = 0, idle_written_ = 0;
  std::string last_at_end_;  // PostgreSQL's clock when it last found one at its end
};

}  // namespace millrace::webhooks::detail
