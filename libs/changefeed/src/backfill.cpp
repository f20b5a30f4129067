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
  if (recorded_chunks_ != published_progress_.chunks && published_progress_.id != 0 && request_ &&
      published_progress_.id == request_->id && running()) {
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
      try {
        chunk_ = source_.read_chunk(*request_, *table_, key_columns_, progress_->after, mark_);
      } catch (const BackfillRefused& e) {
        fail(e.what());
        return;
      }
      phase_ = Phase::kAwaitLow;
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

void Backfiller::start(const BackfillRequest& request, std::optional<BackfillProgress> resumed) {
  request_ = request;
  progress_ = resumed ? *resumed : BackfillProgress{request.id, std::nullopt, 0, 0};
  published_progress_ = *progress_;
  recorded_chunks_ = progress_->chunks;
  chunk_no_ = 0;
  recent_.clear();
  recent_keys_ = 0;
  window_.clear();
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
  if (phase_ == Phase::kWindow) {
    window_.push_back(std::move(touch));
  } else {
    remember(std::move(touch));
  }
}

void Backfiller::remember(Touch&& touch) {
  recent_keys_ += touch.keys.size();
  recent_.push_back(std::move(touch));
  while (!recent_.empty() &&
         (recent_.size() > config_.recent_transactions || recent_keys_ > config_.recent_keys)) {
    const auto xid = recent_.front().xid;
    if (!forgotten_newest_ || xid_precedes(*forgotten_newest_, xid)) forgotten_newest_ = xid;
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
        out.chunk = close_chunk(tx);
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
  // The window's transactions join the recent ones for the chunks after.
  for (auto& t : window_) remember(std::move(t));
  window_.clear();
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
