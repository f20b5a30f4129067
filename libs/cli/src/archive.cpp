// millrace archive ...: what millrace-archiver wrote, listed and checked
// against archive_files (libs/archive/index.hpp), and replayed into Kafka.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>

#include "common.hpp"
#include "millrace/archive/config.hpp"
#include "millrace/archive/index.hpp"
#include "millrace/archive/replay.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/objstore/options.hpp"
#include "millrace/objstore/store.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/produce/progress.hpp"
#include "millrace/stream/consumer.hpp"

namespace millrace::cli {

namespace {

constexpr const char* kArchiveUsage =
    "usage: millrace archive <command> [flags]\n"
    "\n"
    "commands:\n"
    "  list     the archive's files and their offset ranges (--partition, --from, --to)\n"
    "  verify   read back every file and check its checksum, the offsets' contiguity per\n"
    "           partition against archive_files, and that every object under the topic's\n"
    "           prefix is recorded; exit 1 on any\n"
    "           discrepancy\n"
    "  replay   produce the archived records of a time range into --topic again, each to its\n"
    "           original partition with its key, headers and value; a rerun adds only what\n"
    "           the topic is missing\n";

// Flags every command takes.
struct ArchiveCommon {
  pg::PgOptions pg;
  objstore::StoreOptions store;
  std::string root;  // the URL's older name, for a directory
  std::string ns = "millrace";
  std::string group = "millrace-archiver";
  std::string topic = kinds::store_event().topic;
};

void register_common(core::OptionSet& o, ArchiveCommon& c, bool needs_root) {
  pg::register_options(o, c.pg);
  if (needs_root) {
    archive::register_location(o, c.store, c.root);
    archive::register_namespace(o, c.ns);
  }
  stream::add_group_option(o, "archiver", &c.group);
  core::declare(o, &c.topic, kinds::topic_setting(kinds::store_event()));
}

int archive_list(const std::vector<std::string>& args, Context& ctx) {
  ArchiveCommon c;
  std::int64_t partition = -1;
  std::string from, to;
  core::OptionSet options("millrace archive list",
                          "Lists the archive's files, oldest first per partition: path, offsets, "
                          "records, size and the records' time range.");
  register_common(options, c, false);
  core::declare(
      options, &partition,
      {.flag = "partition", .help = "Only this partition (-1: all)", .min = -1, .max = INT32_MAX});
  core::declare(options, &from,
                {.flag = "from",
                 .help = "Only files with records at or after this time (RFC 3339, or any time "
                         "PostgreSQL reads)"});
  core::declare(options, &to, {.flag = "to", .help = "Only files with records before this time"});
  if (const auto exit =
          parse_flags(ctx, options, args, "archive list", [&] { pg::validate(c.pg); })) {
    return *exit;
  }
  archive::FileFilter filter;
  if (partition >= 0) filter.partition = static_cast<std::int32_t>(partition);
  if (!from.empty()) filter.from = from;
  if (!to.empty()) filter.to = to;
  auto db = ctx.backend.archive_db(c.pg);
  std::vector<archive::ArchivedFile> files;
  try {
    files = db->files(c.group, c.topic, filter);
  } catch (const std::invalid_argument& e) {
    return usage_error(ctx, "archive list", e.what());
  }
  ctx.out << format("%-58s %9s %23s %9s %12s  %s\n", "path", "partition", "offsets", "records",
                    "bytes", "records' time range");
  std::int64_t records = 0, bytes = 0;
  for (const auto& f : files) {
    const bool empty = f.records == 0;
    const std::string offsets =
        empty ? "-" : std::to_string(f.first_offset) + ".." + std::to_string(f.last_offset);
    const std::string times = empty ? "(an empty window)" : f.min_time + " .. " + f.max_time;
    ctx.out << format("%-58s %9d %23s %9lld %12lld  %s\n", f.path.c_str(), f.partition,
                      offsets.c_str(), static_cast<long long>(f.records),
                      static_cast<long long>(f.bytes), times.c_str());
    records += f.records;
    bytes += f.bytes;
  }
  ctx.out << format("%zu file(s), %lld record(s), %lld bytes\n", files.size(),
                    static_cast<long long>(records), static_cast<long long>(bytes));
  return 0;
}

int archive_verify(const std::vector<std::string>& args, Context& ctx) {
  ArchiveCommon c;
  core::OptionSet options(
      "millrace archive verify",
      "Checks the archive against archive_files: every recorded file is in the archive (a "
      "directory, a bucket or a container) with its size and SHA-256, read back in full; each "
      "partition's files follow each other with no offset missing (except ranges retention "
      "deleted, offset_gaps) and none twice, up to the archiver's stored offset; and no object "
      "under the topic's prefix is unrecorded. Prints each discrepancy and "
      "exits 1 if there is any.");
  register_common(options, c, true);
  if (const auto exit = parse_flags(ctx, options, args, "archive verify", [&] {
        pg::validate(c.pg);
        archive::validate_location(c.store, c.root);
      })) {
    return *exit;
  }
  // One snapshot: files, gaps and offsets as one commit left them.
  const auto snapshot = ctx.backend.archive_db(c.pg)->snapshot(c.group, c.topic);
  const auto& files = snapshot.files;
  auto findings = archive::check_ranges(files, snapshot.gaps, snapshot.stored);
  archive::FileCheck disk;
  try {
    auto store = ctx.backend.open_store(c.store);
    try {
      disk = archive::check_files(*store, c.ns, c.topic, files);
    } catch (const objstore::StoreError& e) {
      throw std::runtime_error(objstore::explain(e, *store));
    }
  } catch (const std::runtime_error& e) {
    ctx.err << "millrace archive verify: " << e.what() << "\n";
    return 1;
  }
  findings.insert(findings.end(), disk.findings.begin(), disk.findings.end());
  std::map<std::int32_t, std::pair<std::int64_t, std::int64_t>> per_partition;  // files, records
  std::int64_t records = 0;
  for (const auto& f : files) {
    ++per_partition[f.partition].first;
    per_partition[f.partition].second += f.records;
    records += f.records;
  }
  for (const auto& f : findings) ctx.out << f.subject << ": " << f.what << "\n";
  for (const auto& [p, n] : per_partition) {
    ctx.out << "partition " << p << ": " << n.first << " file(s), " << n.second << " record(s)\n";
  }
  ctx.out << format(
      "%s: %zu file(s) recorded, %lld read back (%lld bytes), %lld record(s), "
      "%zu discrepanc%s\n",
      findings.empty() ? "OK" : "FAILED", files.size(), static_cast<long long>(disk.checked),
      static_cast<long long>(disk.bytes), static_cast<long long>(records), findings.size(),
      findings.size() == 1 ? "y" : "ies");
  return findings.empty() ? 0 : 1;
}

int archive_replay(const std::vector<std::string>& args, Context& ctx) {
  ArchiveCommon c;
  kafka::KafkaClientOptions kafka;  // its topic is the target: no default
  kafka.client_id = "millrace-archive-replay";
  std::int64_t partition = -1;
  std::string from, to;
  auto progress = produce::ShowProgress::kAuto;
  core::OptionSet options(
      "millrace archive replay",
      "Produces the archived records whose time (EnqueuedTimeUtc) is in [--from, --to) into "
      "--topic, each to its original partition with its original key, headers and value, "
      "plus millrace.replay.topic, .partition, .offset and .file headers naming its source. "
      "Records the topic already holds (by those headers) are skipped, so a rerun "
      "duplicates nothing. Every file's checksum is checked before anything is produced. "
      "Prints a JSON summary; exits 1 if a delivery failed.");
  pg::register_options(options, c.pg);
  archive::register_location(options, c.store, c.root);
  std::string download_dir;
  core::declare(options, &download_dir,
                {.flag = "download-dir",
                 .help = "An object store's files are downloaded here before they are replayed "
                         "(default: the temporary directory)"});
  stream::add_group_option(options, "archiver", &c.group);
  kafka::add_topic_option(options, "source-topic", &c.topic,
                          kinds::topic_setting(kinds::store_event()));
  kafka::register_options(options, kafka,
                          {.help = "Kafka topic to produce into (it must exist, with at least the "
                                   "archived topic's partitions)"});
  core::declare(
      options, &partition,
      {.flag = "partition", .help = "Only this partition (-1: all)", .min = -1, .max = INT32_MAX});
  core::declare(options, &from,
                {.flag = "from", .help = "Records at or after this time (RFC 3339); required"});
  core::declare(options, &to, {.flag = "to", .help = "Records before this time; required"});
  produce::add_progress_option(options, progress);
  if (const auto exit = parse_flags(ctx, options, args, "archive replay", [&] {
        pg::validate(c.pg);
        kafka::validate(kafka);
        archive::validate_location(c.store, c.root);
        if (from.empty() || to.empty()) throw core::UsageError("--from and --to are required");
        if (kafka.topic == c.topic) {
          throw core::UsageError("--topic is the archived topic itself (" + c.topic +
                                 "); replay into another topic");
        }
      })) {
    return *exit;
  }
  archive::FileFilter filter;
  if (partition >= 0) filter.partition = static_cast<std::int32_t>(partition);
  filter.from = from;
  filter.to = to;
  archive::ReplayRequest request;
  request.kafka = kafka;
  auto store = ctx.backend.open_store(c.store);
  request.store = store.get();
  request.download_dir = download_dir;
  request.source_topic = c.topic;
  request.target_topic = kafka.topic;
  std::vector<archive::ArchivedFile> files;
  {
    auto db = ctx.backend.archive_db(c.pg);
    try {
      files = db->files(c.group, c.topic, filter);
    } catch (const std::invalid_argument& e) {
      return usage_error(ctx, "archive replay", e.what());
    }
    request.from_ms = db->epoch_ms(from);
    request.to_ms = db->epoch_ms(to);
  }
  const std::atomic<bool>& stop = ctx.backend.stop_on_signals();
  std::optional<produce::ProgressLine> line;
  if (produce::show_progress(progress)) line.emplace(stderr, /*acks=*/true);
  const auto started = std::chrono::steady_clock::now();
  const auto as_progress = [&](const archive::ReplayProgress& p) {
    produce::Progress out;
    out.done = p.sent;
    out.acked = p.delivered;
    out.failed = p.failed;
    const auto todo = p.total - p.skipped;
    if (todo > 0) out.fraction = static_cast<double>(p.delivered) / static_cast<double>(todo);
    out.elapsed_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return out;
  };
  archive::ReplaySummary summary;
  try {
    summary = ctx.backend.replay(
        request, files,
        [&](const archive::ReplayProgress& p) {
          if (line) line->update(as_progress(p));
        },
        stop);
  } catch (const std::exception& e) {
    ctx.err << "millrace archive replay: " << e.what() << "\n";
    return 1;
  }
  if (line) line->finish(as_progress(summary.progress));
  const auto& p = summary.progress;
  const bool stopped = stop;
  ctx.out << format(
      "{\"files\":%zu,\"records\":%llu,\"already_in_topic\":%llu,\"produced\":%llu,"
      "\"delivered\":%llu,\"failed\":%llu,\"stopped\":%s}\n",
      summary.files, static_cast<unsigned long long>(p.total),
      static_cast<unsigned long long>(p.skipped), static_cast<unsigned long long>(p.sent),
      static_cast<unsigned long long>(p.delivered), static_cast<unsigned long long>(p.failed),
      stopped ? "true" : "false");
  if (p.failed > 0) {
    ctx.out.flush();
    ctx.err << "millrace archive replay: " << p.failed
            << " deliveries failed, the first: " << summary.first_error << "\n";
    return 1;
  }
  return stopped ? 1 : 0;
}

}  // namespace

int cmd_archive(const std::vector<std::string>& args, Context& ctx) {
  return dispatch(ctx, "archive", kArchiveUsage,
                  {{"list", archive_list}, {"verify", archive_verify}, {"replay", archive_replay}},
                  args);
}

}  // namespace millrace::cli
