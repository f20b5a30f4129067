#include "handler.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "millrace/core/failure.hpp"
#include "millrace/pg/array.hpp"
#include "millrace/runtime/log.hpp"
#include "probe.hpp"

namespace millrace::archive::detail {

using core::FailureClass;
using core::InfraError;

namespace {

constexpr const char* kComponent = "archiver";
constexpr std::string_view kArchived = "archived";
constexpr std::size_t kPublishedKept = 4096;

// A file being written: the partition's one open file in a batch.
struct OpenFile {
  std::unique_ptr<CaptureFileWriter> writer;
  std::string staged;  // its name in the staging
  std::int64_t from = 0;
  std::int64_t opened_ms = 0;
  bool first_in_batch = true;
  // Its place, chosen as it opens: the time in its path, and the path.
  std::int64_t time = 0;
  std::string path;
  // The partition's last placed file (this one), followed as it grows.
  ArchiveHandler::LastPlaced* last = nullptr;
};

// A file finished (durable where it is staged), waiting for its commit.
struct DoneFile {
  WrittenFile file;
  std::int64_t from = 0;
  std::int64_t opened_ms = 0;
  bool first_in_batch = true;
  std::int64_t time = 0;
  std::string path;
};

DoneFile done(WrittenFile file, const OpenFile& f) {
  return {std::move(file), f.from, f.opened_ms, f.first_in_batch, f.time, f.path};
}

// One batch: one time window's files. Unfinished files are removed with
// their writers; finished ones stay, because a commit whose outcome is
// unknown may have recorded them (after_commit of a later batch removes
// those no commit can record any more).
class ArchiveBatch final : public stream::BatchState {
 public:
  // `left(partition, offset)`: staged files of the partition starting
  // below the offset may be left (StagingSweep::mark_left).
  using Left = std::function<void(std::int32_t, std::int64_t)>;
  ArchiveBatch(Destination& destination, Left left)
      : destination(destination), left(std::move(left)) {}
  ~ArchiveBatch() override {
    // Ended without its commit's end: whatever of it is still staged (a
    // removal that failed, an upload begun partway) is for its partitions'
    // next commits' listings.
    if (!committed) {
      try {
        std::map<std::int32_t, std::int64_t> below;
        for (const auto& [p, f] : open) below[p] = std::max(below[p], f.from + 1);
        for (const auto& d : done) {
          below[d.file.partition] = std::max(below[d.file.partition], d.from + 1);
        }
        for (const auto& [p, offset] : below) left(p, offset);
      } catch (...) {
        // Out of memory: the listing at least once a minute finds them.
      }
    }
    // Dropped before its commit began (behind a failed one): its finished
    // files will never be recorded. (Its open ones go with their writers.)
    if (prepared) return;
    for (const auto& d : done) destination.abandoned(d.file.staged);
  }
  ArchiveBatch(const ArchiveBatch&) = delete;
  ArchiveBatch& operator=(const ArchiveBatch&) = delete;

  Destination& destination;
  Left left;
  bool prepared = false;              // before_commit() began
  bool committed = false;             // after_commit() ran
  std::int64_t window_start_ms = -1;  // set by the batch's first record
  // The window's end on the loop's steady clock, set with window_start_ms:
  // the clocks are read once a batch, not at each of the loop's asks.
  std::chrono::steady_clock::time_point seal_at;
  std::map<std::int32_t, OpenFile> open;
  std::vector<DoneFile> done;  // in the order they were finished
  // Set by write(): what after_commit() publishes, staged name -> path.
  std::vector<std::pair<std::string, std::string>> to_publish;
  std::vector<WrittenFile> recorded;

  void discard(std::int32_t partition) override {
    // Revoked before this batch was sealed: nothing of it was committed.
    open.erase(partition);
    std::erase_if(done, [&](const DoneFile& d) {
      if (d.file.partition != partition) return false;
      try {
        destination.remove_staged(d.file.staged);
      } catch (const std::exception& e) {
        left(partition, d.from + 1);
        runtime::log_warn(kComponent, e.what());  // a later commit removes it
      }
      return true;
    });
  }
  std::size_t size() const override { return 0; }
  stream::RecordRef record(std::size_t) const override {
    throw std::logic_error("an archive batch has no records to isolate");
  }
  std::unique_ptr<stream::BatchState> slice(std::size_t, std::size_t) const override {
    throw std::logic_error("an archive batch has no records to isolate");
  }
};

ArchiveBatch& of(stream::BatchState& state) {
  return static_cast<ArchiveBatch&>(state);
}
const ArchiveBatch& of(const stream::BatchState& state) {
  return static_cast<const ArchiveBatch&>(state);
}

[[noreturn]] void io_failed(const std::exception& e) {
  // A full disk or an unreachable share may come back: the batch is retried
  // from the stored offsets, with backoff, and the log says why.
  throw InfraError(FailureClass::kRetryable, std::string("archive: ") + e.what());
}

}  // namespace

ArchiveHandler::ArchiveHandler(HandlerSettings settings, Destination& destination,
                               ArchiveProbe* probe)
    : settings_(std::move(settings)),
      destination_(destination),
      probe_(probe),
      sweep_(destination, settings_.topic, settings_.writer_id, settings_.now_ms) {}

void ArchiveHandler::on_connect(pqxx::connection& connection) {
  pqxx::nontransaction tx(connection);
  const auto rows = tx.exec_params(
      "SELECT partition, (extract(epoch FROM max(file_time)) * 1000)::bigint FROM archive_files "
      "WHERE group_id = $1 AND topic = $2 GROUP BY partition",
      settings_.group, settings_.topic);
  std::lock_guard lock(last_mutex_);
  last_time_.clear();
  for (const auto& row : rows) last_time_[row[0].as<std::int32_t>()] = row[1].as<std::int64_t>();
}

std::unique_ptr<stream::BatchState> ArchiveHandler::open_batch() {
  return std::make_unique<ArchiveBatch>(
      destination_, [this](std::int32_t p, std::int64_t offset) { sweep_.mark_left(p, offset); });
}

std::optional<std::chrono::milliseconds> ArchiveHandler::seal_in(
    const stream::BatchState& state, std::chrono::steady_clock::time_point now) const {
  const auto& b = of(state);
  if (b.window_start_ms < 0) return std::nullopt;
  // Rounded up: a batch sealed while part of a millisecond is left would
  // let the next record, read in that part, open a second batch of the same
  // window (a file of a record or two, and a commit more). A `now` read a
  // while ago (before a wait of the loop's) says a little more than is
  // left: the loop's next look, on a clock read after its poll, seals the
  // batch before the next record goes in.
  return std::chrono::ceil<std::chrono::milliseconds>(b.seal_at - now);
}

void ArchiveHandler::handle(const kafka::Message& message, stream::PartitionProgress& progress,
                            stream::BatchState& state) {
  auto& b = of(state);
  // The clock, read once, and only when this record needs it (most records
  // need nothing of it).
  std::optional<std::int64_t> read_now;
  const auto now = [&] {
    if (!read_now) read_now = settings_.now_ms();
    return *read_now;
  };
  if (b.window_start_ms < 0) {
    b.window_start_ms = window_start(settings_.policy, now());
    // A step of the wall clock once the window is open does not move its
    // end: the window lasts what was left of it at its first record. (The
    // wall clock's milliseconds are truncated, so this end is at or just
    // after the window's, never before it.)
    b.seal_at = settings_.steady_now() +
                std::chrono::milliseconds(b.window_start_ms + settings_.policy.window_ms - now());
  }
  const std::int32_t p = message.partition();
  try {
    auto it = b.open.find(p);
    if (it == b.open.end()) {
      // The file covers the log from where the last one ended, or from
      // where this batch began reading the partition.
      OpenFile f;
      f.from = progress.read_from;
      for (auto d = b.done.rbegin(); d != b.done.rend(); ++d) {
        if (d->file.partition == p) {
          f.from = d->file.last_offset + 1;
          f.first_in_batch = false;
          break;
        }
      }
      f.opened_ms = now();
      // Its place: after the partition's last file, which is this batch's
      // last one, or the last this loop placed when the file follows it
      // (committed, or in the commit in flight: were that to fail, this
      // batch would go too), or else the last one recorded. write() checks
      // it against PostgreSQL's.
      std::optional<std::int64_t> previous;
      LastPlaced& last = last_placed_[p];
      if (!f.first_in_batch || last.next == f.from) {
        previous = last.time;
      } else {
        std::lock_guard lock(last_mutex_);
        if (const auto known = last_time_.find(p); known != last_time_.end()) {
          previous = known->second;
        }
      }
      f.time = file_time(b.window_start_ms, f.opened_ms, f.first_in_batch, previous);
      f.path = capture_path(settings_.ns, settings_.topic, p, f.time);
      last = {f.time, -1};
      f.last = &last;
      const std::string staged =
          staged_name(settings_.topic, p, f.from, settings_.writer_id, ++sequence_);
      f.writer = std::make_unique<CaptureFileWriter>(destination_, staged, p,
                                                     settings_.policy.block_bytes);
      f.staged = staged;
      // Its bytes may go to the store while it is written.
      destination_.opened(staged, f.path,
                          settings_.policy.max_bytes + settings_.policy.block_bytes);
      it = b.open.emplace(p, std::move(f)).first;
    }
    // The record's fields as the message holds them: its bytes are copied
    // only into the file. A record without a timestamp (a pre-0.10 message
    // format) gets the time it was archived.
    const auto timestamp = message.timestamp_ms();
    message.headers(headers_);
    const CaptureRecordView r{.topic = settings_.topic,
                              .partition = p,
                              .offset = message.offset(),
                              .timestamp_ms = timestamp ? *timestamp : now(),
                              .key = message.key(),
                              .headers = headers_,
                              .body = message.value()};
    auto& writer = *it->second.writer;
    writer.append_view(r);
    it->second.last->next = r.offset + 1;
    if (writer.bytes() >= settings_.policy.max_bytes) {
      // The size window is full: finish the file now; the partition's next
      // record opens the next one.
      b.done.push_back(done(writer.finish(), it->second));
      b.open.erase(it);
    }
  } catch (const InfraError&) {
    throw;
  } catch (const std::logic_error&) {
    throw;
  } catch (const std::exception& e) {
    io_failed(e);
  }
  progress.tally.count(core::Outcome::kPersisted, kArchived);
}

void ArchiveHandler::caught_up(stream::BatchState& state) {
  for (const auto& [p, f] : of(state).open) destination_.caught_up(f.staged);
}

void ArchiveHandler::before_commit(stream::BatchState& state) {
  auto& b = of(state);
  b.prepared = true;
  try {
    for (auto& [p, f] : b.open) b.done.push_back(done(f.writer->finish(), f));
    b.open.clear();
    // Every file readied at its place before the transaction (what was not
    // yet uploaded of it goes now): an upload may take longer than a
    // transaction may idle.
    Destination::Placed placed;
    for (const auto& d : b.done) placed.emplace_back(d.file.staged, d.path);
    destination_.prepare(placed);
  } catch (const InfraError&) {
    throw;
  } catch (const std::exception& e) {
    io_failed(e);
  }
}

void ArchiveHandler::write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) {
  (void)batch;
  auto& b = of(state);
  b.to_publish.clear();
  b.recorded.clear();
  std::set<std::int32_t> partitions;
  for (const auto& d : b.done) partitions.insert(d.file.partition);
  for (const auto p : partitions) {
    // What earlier commits recorded but a crash kept from being moved. This
    // member owns the partition (the fence passed), and the rows are
    // committed, so moving their files is always right, and idempotent.
    const auto pending = tx.exec_params(
        "SELECT path, staged FROM archive_files "
        "WHERE group_id = $1 AND topic = $2 AND partition = $3 AND NOT published",
        settings_.group, settings_.topic, p);
    if (!pending.empty()) {
      pg::ArrayLiteral paths;
      for (const auto& row : pending) {
        const auto path = row[0].as<std::string>();
        // The last commit's files, which after_commit() published: only
        // their rows are left to mark (the store need not be asked again,
        // a round trip per file).
        if (take_published(path)) {
          paths.add(path);
          continue;
        }
        Destination::Published done{};
        try {
          done = destination_.publish(row[1].as<std::string>(), path);
        } catch (const std::exception& e) {
          io_failed(e);
        }
        if (done == Destination::Published::kMissing) {
          // Committed, so its records are past the stored offset: retrying
          // cannot bring the file back, and going on would hide the loss.
          throw InfraError(
              FailureClass::kFatal,
              "archive: " + path + " is recorded in archive_files (partition " + std::to_string(p) +
                  ") but is neither in place nor staged as " + row[1].as<std::string>() +
                  " under " + settings_.root_name +
                  ". Was the archive URL changed (one group writes one archive), or files "
                  "deleted? `millrace archive verify` lists what is missing; "
                  "docs/archive.md says how to recover");
        }
        paths.add(path);
      }
      tx.exec_params("UPDATE archive_files SET published = true WHERE path = ANY($1::text[])",
                     paths.take());
    }
    const auto last = tx.exec_params1(
        "SELECT (extract(epoch FROM max(file_time)) * 1000)::bigint FROM archive_files "
        "WHERE group_id = $1 AND topic = $2 AND partition = $3",
        settings_.group, settings_.topic, p);
    std::optional<std::int64_t> recorded;
    if (!last[0].is_null()) recorded = last[0].as<std::int64_t>();
    // The places before_commit() chose, as PostgreSQL's last file says they
    // must be.
    std::optional<std::int64_t> previous = recorded;
    for (const auto& d : b.done) {
      if (d.file.partition != p) continue;
      const std::int64_t t = file_time(b.window_start_ms, d.opened_ms, d.first_in_batch, previous);
      previous = t;
      if (t == d.time) continue;
      // Another member archived the partition since this one last did (or
      // this one had not yet): the batch goes again, placed after it; what
      // it uploaded is aborted after the next commit.
      std::lock_guard lock(last_mutex_);
      if (recorded) {
        last_time_[p] = *recorded;
      } else {
        last_time_.erase(p);
      }
      throw InfraError(FailureClass::kRetryable,
                       "archive: partition " + std::to_string(p) +
                           " has files up to another time than this member last knew; the "
                           "batch is written again after them");
    }
  }
  for (const auto& d : b.done) {
    tx.exec_params(
        "INSERT INTO archive_files (group_id, topic, partition, path, staged, from_offset, "
        "first_offset, last_offset, records, bytes, sha256, file_time, min_time, max_time) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, to_timestamp($12::bigint / "
        "1000.0), to_timestamp($13::bigint / 1000.0), to_timestamp($14::bigint / 1000.0))",
        settings_.group, settings_.topic, d.file.partition, d.path, d.file.staged, d.from,
        d.file.first_offset, d.file.last_offset, d.file.records, d.file.bytes, d.file.sha256,
        d.time, d.file.min_time_ms, d.file.max_time_ms);
    b.to_publish.emplace_back(d.file.staged, d.path);
    b.recorded.push_back(d.file);
  }
}

void ArchiveHandler::after_commit(const stream::Batch& batch, stream::BatchState& state) {
  auto& b = of(state);
  b.committed = true;
  std::set<std::string> unpublished;
  const auto outcomes = destination_.publish_each(b.to_publish);
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const std::string& staged = b.to_publish[i].first;
    std::string failed;
    if (outcomes[i].failed) {
      failed = *outcomes[i].failed;
    } else if (outcomes[i].published == Destination::Published::kMissing) {
      failed = staged + " vanished from the staging directory";
    } else {
      std::lock_guard lock(last_mutex_);
      // Only a shortcut: a partition that went to another member leaves
      // its last files here, so the set is not let grow.
      if (published_.size() >= kPublishedKept) published_.clear();
      published_.insert(b.to_publish[i].second);
      continue;
    }
    // Recorded, so the partition's next commit publishes it.
    unpublished.insert(staged);
    if (probe_ != nullptr) probe_->publish_failed();
    runtime::log_error(kComponent, "publishing a recorded file: " + failed +
                                       "; the partition's next commit tries again");
  }
  {
    std::lock_guard lock(last_mutex_);
    for (const auto& d : b.done) last_time_[d.file.partition] = d.time;
  }
  if (probe_ != nullptr) {
    for (const auto& f : b.recorded) probe_->file_committed(settings_.topic, f);
  }
  sweep_.after_commit(batch, unpublished);
}

bool ArchiveHandler::take_published(const std::string& path) {
  std::lock_guard lock(last_mutex_);
  return published_.erase(path) > 0;
}

void ArchiveHandler::refuse(stream::Batch&, stream::BatchState&,
                            const std::vector<stream::Refusal>&) {
  throw std::logic_error("an archive batch has no records PostgreSQL could refuse");
}

}  // namespace millrace::archive::detail
