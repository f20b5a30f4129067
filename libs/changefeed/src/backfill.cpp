#include "millrace/changefeed/backfill.hpp"

#include <algorithm>

#include "millrace/core/enum_names.hpp"
#include "millrace/core/json_string.hpp"

namespace millrace::changefeed {

namespace {

// A key in the checkpoint's metadata, which Kafka bounds
// (offset.metadata.max.bytes, 4096 by default) with everything else in it.
constexpr std::size_t kMaxKeyBytes = 2048;

using pg::xid_precedes;

}  // namespace

const char* to_string(BackfillState state) {
  static constexpr core::EnumNames<BackfillState, 4> kNames(
      {{BackfillState::kRunning, "running"},
       {BackfillState::kDone, "done"},
       {BackfillState::kCancelled, "cancelled"},
       {BackfillState::kFailed, "failed"}});
  return kNames.name(state).data();  // the names are literals, so NUL-terminated
}

bool keyed(const Relation& table, const PrimaryKeyLookup& primary_key) {
  if (table.replica_identity == 'd' || table.replica_identity == 'i') {
    for (const auto& c : table.columns) {
      if (c.key) return true;
    }
  }
  return !primary_key(table).empty();
}

Backfiller::Backfiller(BackfillSource& source, PrimaryKeyLookup primary_key, std::string session,
                       BackfillConfig config, Clock clock)
    : source_(source),
      primary_key_(std::move(primary_key)),
      session_(std::move(session)),
      config_(config),
      clock_(std::move(clock)) {}

void Backfiller::resume(const Checkpoint& published) {
  resume_from_ = published;
  progress_ = published.backfill;
  finished_ = published.backfill_finished;
}

std::optional<std::int64_t> Backfiller::running() const {
  if (phase_ == Phase::kIdle || phase_ == Phase::kFinishing || !request_) return std::nullopt;
  return request_->id;
}

void Backfiller::tick(std::size_t chunks_waiting) {
  const auto now = clock_();
  if (reading_.valid()) settle(false);
  // Not while a chunk is read: the source takes no other call meanwhile.
  if (recorded_chunks_ != published_progress_.chunks && published_progress_.id != 0 && request_ &&
      published_progress_.id == request_->id && running() && !reading_.valid()) {
    source_.record(published_progress_.id, BackfillState::kRunning, &published_progress_, "");
    recorded_chunks_ = published_progress_.chunks;
  }
  switch (phase_) {
    case Phase::kIdle: {
      if (now < next_poll_) return;
      next_poll_ = now + config_.poll;
      for (;;) {
        const auto request = source_.next();
        if (!request) {
          // A resumed backfill no longer asked for (cancelled, deleted).
          progress_.reset();
          resume_from_.reset();
          return;
        }
        if (resume_from_ && resume_from_->backfill_finished == request->id) {
          // Its last chunk was published; the signal table was not told.
          source_.record(request->id, BackfillState::kDone, nullptr, "");
          continue;
        }
        std::optional<BackfillProgress> resumed;
        if (resume_from_ && resume_from_->backfill && resume_from_->backfill->id == request->id) {
          resumed = resume_from_->backfill;
        }
        resume_from_.reset();
        start(*request, resumed);
        return;
      }
    }
    case Phase::kReady: {
      if (chunks_waiting >= kChunksWaiting) return;
      if (source_.cancel_requested(request_->id)) {
        end(BackfillState::kCancelled);
        source_.record(request_->id, BackfillState::kCancelled, &*ended_progress_, "");
        request_.reset();
        phase_ = Phase::kIdle;
        return;
      }
      ++chunk_no_;
      mark_ = session_ + "/" + std::to_string(request_->id) + "/" + std::to_string(chunk_no_);
      reading_ = source_.begin_chunk(*request_, *table_, key_columns_, progress_->after, mark_);
      phase_ = Phase::kAwaitLow;
      settle(false);
      return;
    }
    case Phase::kFinishing:
      if (!end_published_) return;
      source_.record(*unrecorded_end_, finished_state_, &*ended_progress_, "");
      unrecorded_end_.reset();
      end_published_ = false;
      request_.reset();
      phase_ = Phase::kIdle;
      next_poll_ = now;
      return;
    case Phase::kAwaitLow:
    case Phase::kWindow:
      return;
  }
}

// A begun read's end, once it has ended (or, with `wait`, when it does):
// its chunk is kept for the high watermark. A refused read ends the
// backfill; anything else goes to the caller, and the chunk is read again
// (what its window noted stays known to the chunks after).
void Backfiller::settle(bool wait) {
  if (!wait && reading_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    source_.still_reading(*request_, *table_);
    return;
  }
  try {
    chunk_ = reading_.get();
  } catch (const BackfillRefused& e) {
    fail(e.what());
  } catch (...) {
    close_window();
    phase_ = Phase::kReady;
    throw;
  }
}

void Backfiller::start(const BackfillRequest& request, std::optional<BackfillProgress> resumed) {
  request_ = request;
  progress_ = resumed ? *resumed : BackfillProgress{request.id, std::nullopt, 0, 0};
  published_progress_ = *progress_;
  recorded_chunks_ = progress_->chunks;
  chunk_no_ = 0;
  recent_.clear();
  recent_keys_ = 0;
  window_.clear();
  window_keys_ = 0;
  window_dropped_newest_.reset();
  forgotten_newest_.reset();
  try {
    table_ = source_.describe(request);
    if (!keyed(*table_, primary_key_)) {
      throw BackfillRefused("table " + table_->schema + "." + table_->name +
                            " has no primary key or replica identity index, so its rows cannot "
                            "be read in key order, nor a row's changes told from another's");
    }
    key_columns_ = Assembler(primary_key_).key_columns(*table_);
  } catch (const BackfillRefused& e) {
    fail(e.what());
    return;
  }
  source_.record(request.id, BackfillState::kRunning, &*progress_, "");
  phase_ = Phase::kReady;
}

void Backfiller::fail(const std::string& why) {
  const std::int64_t id = request_->id;
  end(BackfillState::kFailed);
  source_.record(id, BackfillState::kFailed, &*ended_progress_, why);
  request_.reset();
  phase_ = Phase::kIdle;
}

void Backfiller::end(BackfillState state) {
  ended_progress_ = progress_;
  progress_.reset();
  finished_ = request_->id;
  finished_state_ = state;
  chunk_.reset();
  window_.clear();
  window_keys_ = 0;
  window_dropped_newest_.reset();
}

bool Backfiller::touches(const Change& change) const {
  return change.relation && table_ && change.relation->oid == table_->oid;
}

std::vector<std::string> Backfiller::key_of(const Change& change, const Tuple& row) const {
  std::vector<std::string> key;
  key.reserve(change.key_columns.size());
  for (const std::size_t i : change.key_columns) {
    key.push_back(i < row.size() ? row[i].data : std::string());
  }
  return key;
}

void Backfiller::note(const Transaction& tx) {
  Touch touch;
  touch.xid = tx.xid;
  bool touched = false;
  for (const auto& change : tx.changes) {
    if (!touches(change)) continue;
    touched = true;
    if (change.op == Op::kTruncate) {
      touch.truncate = true;
      continue;
    }
    for (const auto* row : {&change.after, &change.before, &change.old_key}) {
      if (!*row || touch.overflow) continue;
      if (touch.keys.size() >= config_.keys_per_transaction) {
        touch.overflow = true;
        touch.keys.clear();
        continue;
      }
      touch.keys.push_back(key_of(change, **row));
    }
  }
  if (!touched) return;
  if (phase_ != Phase::kWindow) {
    remember(std::move(touch));
    return;
  }
  if (window_dropped_newest_ || window_.size() >= config_.recent_transactions ||
      window_keys_ + touch.keys.size() > config_.recent_keys) {
    // A long read while the table changes: the window is dropped, not
    // kept growing.
    for (const auto& t : window_) keep_newest(window_dropped_newest_, t.xid);
    keep_newest(window_dropped_newest_, touch.xid);
    window_.clear();
    window_keys_ = 0;
    return;
  }
  window_keys_ += touch.keys.size();
  window_.push_back(std::move(touch));
}

void Backfiller::keep_newest(std::optional<std::uint32_t>& newest, std::uint32_t xid) {
  if (!newest || xid_precedes(*newest, xid)) newest = xid;
}

bool Backfiller::close_window() {
  for (auto& t : window_) remember(std::move(t));
  window_.clear();
  window_keys_ = 0;
  if (!window_dropped_newest_) return false;
  keep_newest(forgotten_newest_, *window_dropped_newest_);
  window_dropped_newest_.reset();
  return true;
}

void Backfiller::remember(Touch&& touch) {
  recent_keys_ += touch.keys.size();
  recent_.push_back(std::move(touch));
  while (!recent_.empty() &&
         (recent_.size() > config_.recent_transactions || recent_keys_ > config_.recent_keys)) {
    keep_newest(forgotten_newest_, recent_.front().xid);
    recent_keys_ -= recent_.front().keys.size();
    recent_.pop_front();
  }
}

BackfillOutcome Backfiller::on_transaction(const Transaction& tx) {
  BackfillOutcome out;
  if (tx.changes.empty()) {
    for (const auto& m : tx.messages) {
      if (m.prefix != kBackfillMessagePrefix) continue;
      out.watermark = true;
      if (m.content == mark_ + "/low" && phase_ == Phase::kAwaitLow) {
        phase_ = Phase::kWindow;
        window_.clear();
      } else if (m.content == mark_ + "/high" && phase_ == Phase::kWindow) {
        // Committed as the read's last step: its end is here or a moment away.
        if (reading_.valid()) settle(true);
        if (phase_ == Phase::kWindow) out.chunk = close_chunk(tx);
      }
      // Anything else: an earlier session's, or another feed's.
    }
    if (out.watermark) return out;
  }
  if (running()) note(tx);
  return out;
}

std::optional<Transaction> Backfiller::close_chunk(const Transaction& high) {
  const Chunk& chunk = *chunk_;
  // Every transaction before the high watermark that the chunk's snapshot
  // did not see: its rows in the chunk are older than the stream's.
  std::set<std::vector<std::string>> superseded;
  bool truncated = false;
  bool unsure =
      forgotten_newest_ && !xid_precedes(*forgotten_newest_, chunk.snapshot.xmin);  // forgotten
  const auto weigh = [&](const Touch& t) {
    if (chunk.snapshot.saw(t.xid)) return;
    unsure = unsure || t.overflow;
    truncated = truncated || t.truncate;
    superseded.insert(t.keys.begin(), t.keys.end());
  };
  for (const auto& t : recent_) weigh(t);
  for (const auto& t : window_) weigh(t);
  // What a dropped window held is not known.
  if (close_window()) unsure = true;
  if (unsure) {
    // Not every row such a transaction changed is known: read it again.
    chunk_.reset();
    phase_ = Phase::kReady;
    ++stats_.rereads;
    return std::nullopt;
  }
  Transaction out;
  out.xid = 0;
  out.commit_lsn = high.commit_lsn;
  out.end_lsn = high.end_lsn;
  out.commit_time_pg_us = chunk.read_at_pg_us;
  // The chunk's next record, placed at its high watermark.
  const auto add = [&](Op op) -> Change& {
    Change& c = out.changes.emplace_back();
    c.op = op;
    c.relation = table_;
    c.source.commit_lsn = out.commit_lsn;
    c.source.commit_time_pg_us = out.commit_time_pg_us;
    c.source.seq = static_cast<std::uint32_t>(out.changes.size() - 1);
    c.source.backfill = request_->id;
    c.source.audience = request_->audience;
    return c;
  };
  std::optional<std::vector<std::string>> last;
  for (const auto& row : chunk.rows) {
    std::vector<std::string> key;
    key.reserve(key_columns_.size());
    for (const std::size_t i : key_columns_) key.push_back(row.at(i).data);
    last = key;
    if (truncated) continue;
    if (superseded.count(key) != 0) {
      ++stats_.superseded;
      continue;  // the stream holds a newer state of this row
    }
    Change& c = add(Op::kRead);
    c.key_columns = key_columns_;
    c.after = row;
  }
  ++progress_->chunks;
  progress_->rows += out.changes.size();
  stats_.rows += out.changes.size();
  if (last) {
    std::string encoded;
    for (const auto& v : *last) core::append_json_string(encoded, v);
    if (encoded.size() > kMaxKeyBytes) {
      chunk_.reset();
      fail("a key of more than " + std::to_string(kMaxKeyBytes) +
           " bytes does not fit the checkpoint");
      return std::nullopt;
    }
    progress_->after = std::move(last);
  }
  const bool done = chunk.rows.size() < request_->chunk_size;
  chunk_.reset();
  if (done) {
    // The end, for consumers: the rows before this one are the table (or
    // the rows matching the condition) as of here.
    add(Op::kBackfillEnd).marker = Marker{progress_->rows, request_->where, 0, 0};
    end(BackfillState::kDone);
    unrecorded_end_ = request_->id;
    phase_ = Phase::kFinishing;
  } else {
    phase_ = Phase::kReady;
  }
  return out;
}

void Backfiller::published(const Checkpoint& through) {
  if (through.backfill) published_progress_ = *through.backfill;
  if (unrecorded_end_ && through.backfill_finished == *unrecorded_end_) end_published_ = true;
}

}  // namespace millrace::changefeed
