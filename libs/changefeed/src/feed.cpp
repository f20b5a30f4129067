#include "millrace/changefeed/feed.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>

#include "millrace/changefeed/backfill.hpp"
#include "millrace/changefeed/walstream.hpp"
#include "millrace/core/json_string.hpp"

namespace millrace::changefeed {

namespace {

std::size_t value_bytes(const std::optional<Tuple>& row) {
  std::size_t n = 0;
  if (row) {
    for (const auto& v : *row) n += v.data.size();
  }
  return n;
}

// What a transaction's rows hold: the measure of a batch's memory.
std::size_t value_bytes(const Transaction& tx) {
  std::size_t n = 0;
  for (const auto& c : tx.changes) {
    n += value_bytes(c.before) + value_bytes(c.old_key) + value_bytes(c.after);
  }
  return n;
}

}  // namespace

std::string encode_checkpoint(const Checkpoint& checkpoint) {
  std::string out = "{\"commit_lsn\":\"" + format_lsn(checkpoint.commit_lsn) + "\",\"end_lsn\":\"" +
                    format_lsn(checkpoint.end_lsn) + "\"";
  if (const auto& b = checkpoint.backfill) {
    out += ",\"backfill\":{\"id\":" + std::to_string(b->id);
    if (b->after) {
      out += ",\"after\":[";
      for (std::size_t i = 0; i < b->after->size(); ++i) {
        if (i != 0) out += ',';
        core::append_json_string(out, (*b->after)[i]);
      }
      out += ']';
    }
    out +=
        ",\"chunks\":" + std::to_string(b->chunks) + ",\"rows\":" + std::to_string(b->rows) + "}";
  }
  if (checkpoint.backfill_finished != 0) {
    out += ",\"backfill_finished\":" + std::to_string(checkpoint.backfill_finished);
  }
  if (checkpoint.slot_lost_from != 0) {
    out += ",\"slot_lost_from\":\"" + format_lsn(checkpoint.slot_lost_from) + "\"";
  }
  out += '}';
  return out;
}

std::optional<Checkpoint> parse_checkpoint(std::string_view text) {
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError() || !d.IsObject()) return std::nullopt;
  const rapidjson::Value& root = d;  // const: clang 14 finds == ambiguous otherwise
  const auto lsn = [&](const char* name) -> std::optional<Lsn> {
    const auto it = root.FindMember(name);
    if (it == root.MemberEnd() || !it->value.IsString()) return std::nullopt;
    return parse_lsn(std::string_view(it->value.GetString(), it->value.GetStringLength()));
  };
  const auto commit = lsn("commit_lsn");
  const auto end = lsn("end_lsn");
  if (!commit || !end) return std::nullopt;
  Checkpoint out = checkpoint_at(*commit, *end);
  if (root.HasMember("slot_lost_from")) {
    const auto from = lsn("slot_lost_from");
    if (!from) return std::nullopt;
    out.slot_lost_from = *from;
  }
  if (const auto it = root.FindMember("backfill_finished"); it != root.MemberEnd()) {
    if (!it->value.IsInt64()) return std::nullopt;
    out.backfill_finished = it->value.GetInt64();
  }
  if (const auto it = root.FindMember("backfill"); it != root.MemberEnd()) {
    const rapidjson::Value& b = it->value;
    if (!b.IsObject()) return std::nullopt;
    const auto id = b.FindMember("id");
    const auto chunks = b.FindMember("chunks");
    const auto rows = b.FindMember("rows");
    if (id == b.MemberEnd() || !id->value.IsInt64() || chunks == b.MemberEnd() ||
        !chunks->value.IsUint64() || rows == b.MemberEnd() || !rows->value.IsUint64()) {
      return std::nullopt;
    }
    BackfillProgress p;
    p.id = id->value.GetInt64();
    p.chunks = chunks->value.GetUint64();
    p.rows = rows->value.GetUint64();
    if (const auto after = b.FindMember("after"); after != b.MemberEnd()) {
      if (!after->value.IsArray()) return std::nullopt;
      std::vector<std::string> key;
      for (const auto& v : after->value.GetArray()) {
        if (!v.IsString()) return std::nullopt;
        key.emplace_back(v.GetString(), v.GetStringLength());
      }
      p.after = std::move(key);
    }
    out.backfill = std::move(p);
  }
  return out;
}

Feed::Feed(ReplicationPort& stream, PublishPort& publisher, PrimaryKeyLookup primary_key,
           Checkpoint published, FeedConfig config, Clock clock)
    : stream_(stream),
      publisher_(publisher),
      assembler_(std::move(primary_key)),
      published_(published),
      config_(config),
      clock_(std::move(clock)),
      confirmable_(published.end_lsn),
      last_status_(clock_()) {}

Feed::~Feed() {
  if (in_flight_.valid()) in_flight_.wait();
}

std::chrono::steady_clock::time_point Feed::step(std::chrono::milliseconds timeout) {
  collect(false);
  if (backfill_) backfill_->tick(chunks_pending_);
  // With a batch pending, only what has arrived: an idle stream closes it.
  // With one in flight, a short wait either way (not none: the loop would
  // spin until the publish returns), so its end is seen soon.
  // A backlog's batch waits for more, in the same short steps.
  auto wait = pending_.empty() ? timeout : std::chrono::milliseconds(0);
  if (in_flight_.valid() || (!pending_.empty() && pending_backlog_)) {
    wait = std::min(timeout, std::chrono::milliseconds(1));
  }
  const auto bytes = stream_.read(wait);
  if (bytes) handle(*bytes);
  const bool full =
      pending_changes_ >= config_.max_batch_changes || pending_bytes_ >= config_.max_batch_bytes;
  const auto now = clock_();
  bool due = false;
  if (!pending_.empty()) {
    const auto age = now - pending_since_;
    due = full ||
          (pending_backlog_ ? age >= config_.catch_up_linger : !bytes || age >= config_.linger);
  }
  // While one publishes, the next batch keeps growing until it is full or
  // the one before is done.
  if (due && (!in_flight_.valid() || full)) publish_pending();
  send_status(false, now);
  return now;
}

void Feed::flush() {
  collect(true);
  if (!pending_.empty()) publish_pending();
  collect(true);
  send_status(true, clock_());
}

void Feed::handle(std::string_view copy_data) {
  const auto message = parse_server_message(copy_data);
  if (const auto* x = std::get_if<XLogData>(&message)) {
    stats_.server_wal_end = std::max(stats_.server_wal_end, x->wal_end);
    auto tx = assembler_.feed(decode(x->data), x->wal_start);
    if (!tx) return;
    ++stats_.transactions;
    if (tx->commit_lsn <= published_.commit_lsn) {
      // Published before a restart; PostgreSQL resent it because the
      // confirmation did not reach it.
      ++stats_.skipped_transactions;
      if (idle()) confirmable_ = std::max(confirmable_, tx->end_lsn);
      return;
    }
    if (backfill_) {
      auto out = backfill_->on_transaction(*tx);
      // A chunk is queued even when empty: its checkpoint carries the
      // backfill's progress, or its end.
      if (out.chunk) {
        queue(std::move(*out.chunk));
        ++chunks_pending_;
        return;
      }
    }
    if (tx->changes.empty()) {
      // Nothing to publish: a watermark, or a transaction holding only
      // logical messages.
      if (idle()) confirmable_ = std::max(confirmable_, tx->end_lsn);
      return;
    }
    queue(std::move(*tx));
    return;
  }
  const auto& k = std::get<Keepalive>(message);
  stats_.server_wal_end = std::max(stats_.server_wal_end, k.wal_end);
  // Everything the server sent before this is handled: with no transaction
  // open, waiting or publishing, the slot may move past WAL that held
  // nothing for us (other tables, other databases), which it otherwise
  // keeps for ever.
  if (idle() && !assembler_.in_transaction()) {
    confirmable_ = std::max(confirmable_, k.wal_end);
  }
  if (k.reply_requested) reply_requested_ = true;
}

void Feed::queue(Transaction&& tx) {
  if (pending_.empty()) pending_since_ = clock_();
  pending_changes_ += tx.changes.size();
  pending_bytes_ += value_bytes(tx);
  pending_backlog_ = tx.end_lsn < config_.catch_up_to;
  pending_.push_back(std::move(tx));
}

void Feed::publish_pending() {
  collect(true);
  Checkpoint through = checkpoint_at(pending_.back().commit_lsn, pending_.back().end_lsn);
  through.backfill = published_.backfill;
  through.backfill_finished = published_.backfill_finished;
  if (backfill_) {
    // As of the batch's end: every transaction read has been handed to it.
    through.backfill = backfill_->progress();
    through.backfill_finished = backfill_->finished();
  }
  publishing_ = std::move(pending_);
  publishing_changes_ = pending_changes_;
  publishing_through_ = through;
  pending_.clear();
  pending_changes_ = 0;
  pending_bytes_ = 0;
  chunks_pending_ = 0;
  if (!config_.pipelined) {
    publisher_.publish(publishing_, through);
    count_published();
    return;
  }
  if (!publishing_thread_) publishing_thread_ = std::make_unique<core::TaskThread<void>>();
  in_flight_ =
      publishing_thread_->submit([this] { publisher_.publish(publishing_, publishing_through_); });
}

void Feed::collect(bool wait) {
  if (!in_flight_.valid()) return;
  if (!wait && in_flight_.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
    return;
  }
  auto done = std::move(in_flight_);
  done.get();  // a failure: nothing of the batch is confirmed
  count_published();
}

void Feed::count_published() {
  const auto& through = publishing_through_;
  published_ = through;
  stats_.changes += publishing_changes_;
  ++stats_.batches;
  stats_.last_commit_time_pg_us = publishing_.back().commit_time_pg_us;
  confirmable_ = std::max(confirmable_, through.end_lsn);
  if (backfill_) backfill_->published(through);
  publishing_.clear();
  publishing_changes_ = 0;
}

void Feed::send_status(bool force, std::chrono::steady_clock::time_point now) {
  const bool periodic = now - last_status_ >= config_.status_interval;
  const bool due = force || reply_requested_ || confirmable_ > stats_.confirmed || periodic;
  if (!due) return;
  // A periodic update asks for an answer: the server's keepalive then says
  // how far it has sent, and an idle slot moves past WAL of other tables
  // instead of holding it.
  const bool ask = periodic && idle();
  const auto wall_us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  stream_.write(standby_status_update(confirmable_, confirmable_, confirmable_,
                                      pg_us_from_unix(wall_us), ask));
  stats_.confirmed = confirmable_;
  reply_requested_ = false;
  last_status_ = now;
}

}  // namespace millrace::changefeed
