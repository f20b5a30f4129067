#pragma once

// The staging's names, and the sweep after a commit: staged files that
// start below the offset a commit stored can never be recorded (another
// attempt at their records committed), so they are what a crashed, fenced
// or failed attempt left, and go. A listing is a round trip to an object
// store, so a partition is listed only where an attempt may have left
// something. docs/archive.md, "Exactly once in a bucket", step 5.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "millrace/archive/writer.hpp"
#include "millrace/stream/batch.hpp"

namespace millrace::archive::detail {

// A staged file's name: "{topic}/{partition}/{from_offset}-{writer}-{n}.avro".
std::string staged_name(const std::string& topic, std::int32_t partition, std::int64_t from,
                        const std::string& writer_id, std::uint64_t n);
// The from_offset a staged name starts with; nullopt for a name that is
// not one of ours.
std::optional<std::int64_t> staged_from(const std::string& name);
// The partition a staged name is of; nullopt for a name that is not one.
std::optional<std::int32_t> staged_partition(const std::string& name);
// Whether the staged name is one written by `writer_id`.
bool staged_by(const std::string& name, const std::string& writer_id);

// Thread-safe: batches of the loop's thread mark what they leave, and the
// commit thread sweeps.
class StagingSweep {
 public:
  StagingSweep(Destination& destination, std::string topic, std::string writer_id,
               std::function<std::int64_t()> now_ms);

  // An attempt may have left staged files of `partition` that start below
  // `offset` (a batch of this member's that ended before its commit did, a
  // file it gave up): the partition is listed at its next commit, and at
  // each after it until one has stored `offset` and its listing removed
  // them.
  void mark_left(std::int32_t partition, std::int64_t offset);

  // After the commit of `batch`: lists the staging of its partitions where
  // an attempt may have left something (the partition's first commit here,
  // one that does not start where this member's last one ended, while
  // mark_left() says so, and at least every minute; every partition when
  // `unpublished` is not empty) and removes what starts below the offset
  // the commit stored, but for `unpublished` (this batch's files recorded,
  // not yet published). What another member wrote beyond it keeps the
  // partition listed at its next commits. A failed listing or removal is
  // logged, and listed again at the partition's next commit.
  void after_commit(const stream::Batch& batch, const std::set<std::string>& unpublished);

 private:
  // Per partition: where this member's last commit of it ended, when it
  // last listed it, and the offset below which what an attempt may have
  // left starts (-1: nothing known).
  struct Swept {
    std::int64_t next = -1;
    std::int64_t listed_ms = 0;
    std::int64_t left_below = -1;
  };
  std::vector<std::int32_t> to_list(const stream::Batch& batch, bool failed);
  void note_listed(std::int32_t partition, std::int64_t committed, std::int64_t left_below);

  Destination& destination_;
  const std::string topic_;
  const std::string writer_id_;
  std::function<std::int64_t()> now_ms_;
  std::mutex mutex_;
  std::map<std::int32_t, Swept> swept_;
};

}  // namespace millrace::archive::detail
