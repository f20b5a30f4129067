#include "staging.hpp"

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <exception>
#include <string_view>
#include <utility>

#include "millrace/runtime/log.hpp"

namespace millrace::archive::detail {

namespace {

// How often a partition this member keeps committing has its staging
// listed all the same: what a fenced member still writing staged after
// the last listing is removed within this.
constexpr std::int64_t kSweepEveryMs = 60'000;

}  // namespace

std::string staged_name(const std::string& topic, std::int32_t partition, std::int64_t from,
                        const std::string& writer_id, std::uint64_t n) {
  return topic + "/" + std::to_string(partition) + "/" + std::to_string(from) + "-" + writer_id +
         "-" + std::to_string(n) + ".avro";
}

std::optional<std::int64_t> staged_from(const std::string& name) {
  const auto slash = name.rfind('/');
  const std::string file = slash == std::string::npos ? name : name.substr(slash + 1);
  std::int64_t from = 0;
  int used = 0;
  if (std::sscanf(file.c_str(), "%" SCNd64 "-%n", &from, &used) != 1 || used == 0 || from < 0) {
    return std::nullopt;
  }
  if (file.size() < 5 || file.compare(file.size() - 5, 5, ".avro") != 0) return std::nullopt;
  return from;
}

std::optional<std::int32_t> staged_partition(const std::string& name) {
  const auto last = name.rfind('/');
  if (last == std::string::npos || last == 0) return std::nullopt;
  const auto before = name.rfind('/', last - 1);
  const auto start = before == std::string::npos ? 0 : before + 1;
  if (start == last) return std::nullopt;
  std::int32_t p = 0;
  const char* end = name.data() + last;
  const auto [ptr, ec] = std::from_chars(name.data() + start, end, p);
  if (ec != std::errc{} || ptr != end || p < 0) return std::nullopt;
  return p;
}

bool staged_by(const std::string& name, const std::string& writer_id) {
  const auto slash = name.rfind('/');
  const std::string_view file =
      std::string_view(name).substr(slash == std::string::npos ? 0 : slash + 1);
  const auto dash = file.find('-');
  if (dash == std::string_view::npos) return false;
  const auto rest = file.substr(dash + 1);
  return rest.size() > writer_id.size() && rest.starts_with(writer_id) &&
         rest[writer_id.size()] == '-';
}

StagingSweep::StagingSweep(Destination& destination, std::string topic, std::string writer_id,
                           std::function<std::int64_t()> now_ms)
    : destination_(destination),
      topic_(std::move(topic)),
      writer_id_(std::move(writer_id)),
      now_ms_(std::move(now_ms)) {}

void StagingSweep::mark_left(std::int32_t partition, std::int64_t offset) {
  std::lock_guard lock(mutex_);
  Swept& s = swept_[partition];
  s.left_below = std::max(s.left_below, offset);
}

void StagingSweep::after_commit(const stream::Batch& batch,
                                const std::set<std::string>& unpublished) {
  const std::vector<std::int32_t> partitions = to_list(batch, !unpublished.empty());
  std::vector<std::string> dirs;
  std::vector<std::int64_t> committed;
  for (const auto p : partitions) {
    dirs.push_back(topic_ + "/" + std::to_string(p));
    committed.push_back(batch.partitions().at(p).next_offset);
  }
  std::vector<std::vector<std::string>> listed;
  bool unlisted = false;
  try {
    listed = destination_.staged_in_each(dirs);
  } catch (const std::exception& e) {
    unlisted = true;
    listed.assign(dirs.size(), {});
    runtime::log_warn("archiver", std::string("listing the staging after a commit: ") + e.what() +
                                      "; listed again at the next commit");
  }
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    std::int64_t left = unlisted ? committed[i] : -1;
    int removed = 0;
    for (const auto& name : listed[i]) {
      const auto from = staged_from(name);
      if (!from || unpublished.contains(name)) continue;
      if (*from >= committed[i]) {
        // Beyond this commit: this member's files being written, or what
        // another member wrote, listed again until a commit passes it.
        if (!staged_by(name, writer_id_)) left = std::max(left, *from + 1);
        continue;
      }
      try {
        destination_.remove_staged(name);
        ++removed;
      } catch (const std::exception& e) {
        left = std::max(left, committed[i]);
        runtime::log_warn("archiver", e.what());
      }
    }
    note_listed(partitions[i], committed[i], left);
    if (removed > 0) {
      runtime::log_info("archiver", "removed " + std::to_string(removed) + " staged file(s) of " +
                                        dirs[i] +
                                        " (and aborted their uploads), left by attempts "
                                        "that never committed");
    }
  }
}

std::vector<std::int32_t> StagingSweep::to_list(const stream::Batch& batch, bool failed) {
  // Files this member gave up that left something staged.
  for (const auto& name : destination_.left_staged()) {
    const auto p = staged_partition(name);
    const auto from = staged_from(name);
    if (p && from) mark_left(*p, *from + 1);
  }
  const std::int64_t now = now_ms_();
  std::vector<std::int32_t> out;
  std::lock_guard lock(mutex_);
  for (const auto& [p, progress] : batch.partitions()) {
    auto [at, first] = swept_.try_emplace(p);
    Swept& s = at->second;
    // A batch that does not start where this member's last commit of the
    // partition ended follows another attempt's commit (or is this
    // member's first): a crashed or fenced attempt may have staged since.
    if (failed || first || s.left_below >= 0 || s.next != progress.read_from ||
        now - s.listed_ms >= kSweepEveryMs) {
      out.push_back(p);
      s.listed_ms = now;
    }
    s.next = progress.next_offset;
  }
  return out;
}

void StagingSweep::note_listed(std::int32_t partition, std::int64_t committed,
                               std::int64_t left_below) {
  std::lock_guard lock(mutex_);
  Swept& s = swept_[partition];
  // What was known to start below the commit went with the listing; what
  // was known beyond it is still there.
  if (s.left_below <= committed) s.left_below = -1;
  s.left_below = std::max(s.left_below, left_below);
}

}  // namespace millrace::archive::detail
