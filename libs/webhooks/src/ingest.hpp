#pragma once

// The change topic's consumer side: each change routed to an endpoint (by
// table, operation and filter: routing.hpp) becomes a delivery row, written
// in the transaction that commits the group's offsets, so none is lost or
// enqueued twice.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "millrace/stream/handler.hpp"
#include "routing.hpp"

namespace millrace::webhooks::detail {

// What an endpoint's filter and queue need from one change.
struct ChangeFacts {
  std::string id;           // webhook-id
  std::string table;        // "schema.name"
  std::string op;           // c, u, d, r, t
  std::string commit_time;  // RFC 3339, the source transaction's commit
  std::string body;         // the webhook's JSON body
  // A backfill's records asked for one endpoint ("webhooks:<id>", the
  // record's source.for) go to that endpoint only; empty: to every one.
  std::string audience;
};

// The change feed's JSON value (proto/change.schema.json) read into facts,
// with the body a Standard Webhooks payload:
//   {"type":"<table>.<created|updated|deleted|snapshot|truncated>",
//    "timestamp":"<commit time>", "data":<the change as published>}
// A string saying what is wrong when the value is not a change.
std::variant<ChangeFacts, std::string> read_change(std::string_view value);

class ReadMarks;
class LocalWake;
class DirectSend;

// The CloudEvents source prefix: `configured`, or "/millrace/<database>".
std::string source_prefix(const std::string& configured, std::string_view database);

// Marks how far it read each partition in `marks` (read_marks.hpp), with
// each batch and while idle, for the endpoints in commit order. After a
// batch that sent the workers' wake-up commits, wakes this replica's own
// through `local` (wakeup.hpp).
class IngestHandler final : public stream::Handler,
                            public stream::WatchesReads,
                            public stream::BeginsWithTransaction {
 public:
  // `marks`, `local` and `direct` must outlive the handler. `source_prefix`:
  // the CloudEvents source before a change's table, which filters may read
  // (empty: "/millrace/<the database>"). `direct`: sends a whole batch's
  // deliveries from its transaction where it can (direct.hpp); null: every
  // delivery is enqueued for the workers.
  IngestHandler(std::string group, std::string topic, ReadMarks& marks, LocalWake& local,
                std::string source_prefix = "", DirectSend* direct = nullptr);

  void on_connect(pqxx::connection& connection) override;
  void after_commit(const stream::Batch& batch, stream::BatchState& state) override;
  void idle(const std::map<std::int32_t, std::int64_t>& read_to) override;

  std::unique_ptr<stream::BatchState> open_batch() override;
  void began(stream::BatchState& state) override;
  void handle(const kafka::Message& message, stream::PartitionProgress& progress,
              stream::BatchState& state) override;
  void write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) override;
  void refuse(stream::Batch& batch, stream::BatchState& state,
              const std::vector<stream::Refusal>& refused) override;

 private:
  std::string group_;
  std::string topic_;
  ReadMarks& marks_;
  LocalWake& local_;
  DirectSend* direct_;
  std::string configured_source_;
  std::string source_prefix_;
  Subscriptions subscriptions_;
};

}  // namespace millrace::webhooks::detail
