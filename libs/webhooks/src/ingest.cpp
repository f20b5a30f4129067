#include "ingest.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <stdexcept>
#include <unordered_set>

#include "batch_rows.hpp"
#include "direct.hpp"
#include "millrace/core/utf8.hpp"
#include "millrace/stream/refused_records.hpp"
#include "read_marks.hpp"
#include "wakeup.hpp"
#include "wire.hpp"

namespace millrace::webhooks::detail {

namespace {

constexpr std::size_t kMaxChangeIdBytes = 256;

std::string json_string(std::string_view s) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return std::string(buffer.GetString(), buffer.GetSize());
}

const rapidjson::Value* string_member(const rapidjson::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString() || it->value.GetStringLength() == 0) {
    return nullptr;
  }
  return &it->value;
}

// A record buffered for write(), by its Kafka coordinates.
struct Pending {
  stream::RecordRef record;
  ChangeFacts change;
};

// A record set aside with why: not a change, or refused by PostgreSQL.
struct SetAside {
  stream::RecordRef record;
  std::string sqlstate;  // empty: refused before reaching PostgreSQL
  std::string message;
  std::string payload;
};

class IngestBatch final : public stream::BatchState {
 public:
  std::vector<Pending> pending;
  std::vector<SetAside> set_aside;
  // False for a slice: a slice is written only to find refused records, in
  // a transaction that is rolled back, so it marks nothing.
  bool whole = true;
  // Its transaction sends the workers' wake-up (set by the last write()).
  bool wakes = false;
  // The partitions' ends, asked as the transaction began (began()).
  std::optional<ReadMarks::Ends> ends;

  void discard(std::int32_t partition) override {
    std::erase_if(pending, [&](const Pending& p) { return p.record.partition == partition; });
    std::erase_if(set_aside, [&](const SetAside& s) { return s.record.partition == partition; });
  }
  std::size_t size() const override { return pending.size(); }
  stream::RecordRef record(std::size_t index) const override { return pending[index].record; }
  std::unique_ptr<stream::BatchState> slice(std::size_t begin, std::size_t end) const override {
    auto out = std::make_unique<IngestBatch>();
    out->whole = false;
    out->pending.assign(pending.begin() + static_cast<std::ptrdiff_t>(begin),
                        pending.begin() + static_cast<std::ptrdiff_t>(end));
    return out;
  }
};

IngestBatch& of(stream::BatchState& state) {
  return static_cast<IngestBatch&>(state);
}

// A payload that is not text PostgreSQL can hold (bytes of no UTF-8
// sequence, or a NUL) is kept whole all the same, as its bytes in hex with
// `\x` before them (a bytea's text, which decode(substr(payload, 3), 'hex')
// reads back), and its message says so.
void store_set_aside(pqxx::work& tx, const std::string& group, const std::string& topic,
                     const std::vector<SetAside>& rows) {
  std::vector<stream::RefusedRecord> records;
  records.reserve(rows.size());
  // The texts made here, which the records' views point into (reserved:
  // never moved).
  std::vector<std::pair<std::string, std::string>> hexed;
  hexed.reserve(rows.size());
  for (const auto& r : rows) {
    if (core::is_storable_text(r.payload)) {
      records.push_back({r.record.partition, r.record.offset, r.sqlstate, r.message, r.payload});
    } else {
      const auto& [message, payload] = hexed.emplace_back(
          r.message + " (the payload is not UTF-8 text: kept as its bytes in hex)",
          tx.esc_raw(r.payload));
      records.push_back({r.record.partition, r.record.offset, r.sqlstate, message, payload});
    }
  }
  stream::store_refused(tx, group, topic, records);
}

}  // namespace

std::string source_prefix(const std::string& configured, std::string_view database) {
  if (!configured.empty()) return configured;
  return "/millrace/" + std::string(database);
}

std::variant<ChangeFacts, std::string> read_change(std::string_view value) {
  // The change feed writes UTF-8 JSON; anything else on the topic cannot be
  // a delivery's body (PostgreSQL text), and RapidJSON does not check.
  if (!core::is_storable_text(value)) return std::string("not UTF-8 text, or it holds a NUL");
  rapidjson::Document doc;
  doc.Parse(value.data(), value.size());
  if (doc.HasParseError()) return std::string("not JSON");
  if (!doc.IsObject()) return std::string("not a JSON object");
  ChangeFacts f;
  const auto* id = string_member(doc, "id");
  const auto* op = string_member(doc, "op");
  const auto* table = string_member(doc, "table");
  if (id == nullptr || op == nullptr || table == nullptr) {
    return std::string("no \"id\", \"op\" or \"table\" string");
  }
  // The feed's ids are 25 characters (proto/change.schema.json); one far
  // longer could not be a key of webhook_deliveries' unique index, and is
  // refused here, before anything is sent.
  if (id->GetStringLength() > kMaxChangeIdBytes) {
    return "an \"id\" longer than " + std::to_string(kMaxChangeIdBytes) + " bytes";
  }
  f.id = id->GetString();
  f.op = op->GetString();
  f.table = table->GetString();
  const auto word = op_word(f.op);
  if (word.empty()) return "unknown op \"" + f.op + "\"";
  const rapidjson::Value& root = doc;  // const: clang 14 finds == ambiguous otherwise
  const auto source = root.FindMember("source");
  const rapidjson::Value* commit = source != root.MemberEnd() && source->value.IsObject()
                                       ? string_member(source->value, "commit_time")
                                       : nullptr;
  if (commit == nullptr) return std::string("no \"source\".\"commit_time\" string");
  f.commit_time = commit->GetString();
  if (const auto* audience = string_member(source->value, "for"))
    f.audience = audience->GetString();
  f.body.reserve(value.size() + f.table.size() + 64);
  f.body.append("{\"type\":")
      .append(json_string(f.table + "." + std::string(word)))
      .append(",\"timestamp\":")
      .append(json_string(f.commit_time))
      .append(",\"data\":")
      .append(value)
      .append("}");
  return f;
}

IngestHandler::IngestHandler(std::string group, std::string topic, ReadMarks& marks,
                             LocalWake& local, std::string source_prefix, DirectSend* direct)
    : group_(std::move(group)),
      topic_(std::move(topic)),
      marks_(marks),
      local_(local),
      direct_(direct),
      configured_source_(std::move(source_prefix)) {}

void IngestHandler::on_connect(pqxx::connection& connection) {
  local_.set_session(connection.backendpid());
  source_prefix_ = source_prefix(configured_source_, connection.dbname());
}

void IngestHandler::after_commit(const stream::Batch&, stream::BatchState& state) {
  if (of(state).wakes) local_.committed();
}

void IngestHandler::idle(const std::map<std::int32_t, std::int64_t>& read_to) {
  marks_.idle(read_to);
}

std::unique_ptr<stream::BatchState> IngestHandler::open_batch() {
  return std::make_unique<IngestBatch>();
}

// The ends are asked as soon as the transaction began, while the fence is
// written, not before (read_marks.hpp).
void IngestHandler::began(stream::BatchState& state) {
  auto& b = of(state);
  b.ends.reset();  // an attempt before this one's, perhaps unread
  if (b.whole) b.ends = marks_.ask_ends();
}

void IngestHandler::handle(const kafka::Message& message, stream::PartitionProgress& progress,
                           stream::BatchState& state) {
  const stream::RecordRef ref{message.partition(), message.offset()};
  auto read = read_change(message.payload());
  if (auto* why = std::get_if<std::string>(&read)) {
    progress.tally.count(core::Outcome::kRejected, "not_a_change");
    of(state).set_aside.push_back(
        {ref, "", "not a change: " + *why, std::string(message.payload())});
    return;
  }
  // Provisional: write() knows which match an endpoint, and which were
  // enqueued before.
  progress.tally.count(core::Outcome::kPersisted, "");
  of(state).pending.push_back({ref, std::move(std::get<ChangeFacts>(read))});
}

void IngestHandler::refuse(stream::Batch& batch, stream::BatchState& state,
                           const std::vector<stream::Refusal>& refused) {
  auto& b = of(state);
  for (const auto& r : refused) {
    const auto it = std::find_if(b.pending.begin(), b.pending.end(),
                                 [&](const Pending& p) { return p.record == r.record; });
    if (it == b.pending.end()) continue;
    batch.at(r.record.partition)
        .tally.move({core::Outcome::kPersisted, ""}, {core::Outcome::kRejected, "db_refused"}, 1);
    b.set_aside.push_back({r.record, r.sqlstate, r.message, it->change.body});
    b.pending.erase(it);
  }
}

namespace {

// The first copy of each change id, in record order: a change repeated
// within the batch is enqueued once, the others counted as duplicates.
std::vector<const Pending*> first_copies(stream::Batch& batch, const IngestBatch& b) {
  std::unordered_set<std::string_view> seen;
  std::vector<const Pending*> firsts;
  for (const auto& p : b.pending) {
    if (seen.insert(p.change.id).second) {
      firsts.push_back(&p);
    } else {
      batch.at(p.record.partition)
          .tally.move({core::Outcome::kPersisted, ""}, {core::Outcome::kDuplicate, "duplicate_id"},
                      1);
    }
  }
  return firsts;
}

// A change no endpoint took is filtered; one whose deliveries were all
// enqueued before is a duplicate.
void count_outcomes(stream::Batch& batch, const std::vector<const Pending*>& firsts,
                    const std::vector<Enqueued>& enqueued) {
  for (std::size_t i = 0; i < firsts.size(); ++i) {
    auto& tally = batch.at(firsts[i]->record.partition).tally;
    if (enqueued[i].matched == 0) {
      tally.move({core::Outcome::kPersisted, ""}, {core::Outcome::kFiltered, "no_endpoint"}, 1);
    } else if (enqueued[i].enqueued == 0) {
      tally.move({core::Outcome::kPersisted, ""}, {core::Outcome::kDuplicate, "duplicate_id"}, 1);
    }
  }
}

}  // namespace

// The deliveries and the marks go in one statement (batch_rows.hpp), which
// also wakes the workers for what it enqueued, and for deliveries in
// commit order its marks let go. A whole batch sends what it can itself
// (direct.hpp), after that statement and before its offsets commit.
void IngestHandler::write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) {
  auto& b = of(state);
  b.wakes = false;
  store_set_aside(tx, group_, topic_, b.set_aside);
  const auto firsts = first_copies(batch, b);
  BatchRows rows;
  std::vector<std::int32_t> partitions;
  rows.changes.reserve(firsts.size());
  for (const auto* p : firsts) {
    rows.changes.push_back(&p->change);
    partitions.push_back(p->record.partition);
  }
  // Routed in this transaction, against the endpoints as it sees them.
  if (!rows.changes.empty()) {
    auto routes = route(subscriptions_.load(tx), rows.changes, partitions, source_prefix_);
    rows.endpoints = std::move(routes.endpoints);
    rows.filtered = std::move(routes.filtered);
  }
  RowsWritten written;
  if (!b.whole) {
    // A slice, rolled back after: its deliveries alone, no marks, no wake-up.
    if (rows.changes.empty()) return;
    written = write_rows(tx, group_, topic_, rows);
  } else {
    std::map<std::int32_t, std::string> last_ids;
    for (const auto& p : b.pending) {
      auto& last = last_ids[p.record.partition];
      last = std::max(last, p.change.id);
    }
    // began() asked them for this transaction.
    if (!b.ends) throw std::logic_error("webhooks: a whole batch written without began()");
    // The endpoints the batch may send to itself, locked before its rows.
    if (direct_ != nullptr && direct_->on() && !rows.changes.empty()) {
      std::vector<std::int64_t> routed;
      for (const auto& to : rows.endpoints) routed.insert(routed.end(), to.begin(), to.end());
      rows.direct = direct_->hold(tx, routed);
    }
    const bool sends = !rows.direct.empty();
    const auto changes = rows.changes;
    written = marks_.write(tx, *b.ends, batch.read_to(), last_ids, std::move(rows));
    b.ends.reset();
    b.wakes = written.woke;
    if (sends) {
      if (direct_->send_and_store(tx, changes, written, source_prefix_)) b.wakes = true;
      write_marks(tx, group_, topic_, written.marks_later);
    }
  }
  count_outcomes(batch, firsts, written.changes);
}

}  // namespace millrace::webhooks::detail
