// millrace archive list, verify and replay: flags, the filter and range
// each asks for, what they print and their exit status, against a fake
// database, a store in memory and a fake replay.
#include <catch2/catch.hpp>

#include "fakes.hpp"
#include "millrace/objstore/testing/memory_store.hpp"

using namespace millrace;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using cli::testing::ArchiveState;
using cli::testing::FakeArchiveDb;
using cli::testing::Harness;

namespace {

// sha256("hello")
constexpr const char* kHelloSha =
    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

archive::ArchivedFile file(std::int32_t partition, std::int64_t first, std::int64_t last,
                           const std::string& path) {
  archive::ArchivedFile f;
  f.path = path;
  f.partition = partition;
  f.from_offset = first;
  f.first_offset = first;
  f.last_offset = last;
  f.records = last - first + 1;
  f.bytes = 5;
  f.sha256 = kHelloSha;
  f.published = true;
  f.min_time = "2026-11-20T10:00:00Z";
  f.max_time = "2026-11-20T10:05:00Z";
  return f;
}

// The backend over `state` and a store in memory holding `objects`.
void use(Harness& h, ArchiveState& state, std::map<std::string, std::string> objects = {}) {
  h.ctx.backend.archive_db = [&state](const pg::PgOptions&) {
    return std::make_unique<FakeArchiveDb>(state);
  };
  h.ctx.backend.open_store = [objects](const objstore::StoreOptions&) {
    auto store = std::make_unique<objstore::testing::MemoryStore>();
    store->objects = objects;
    return store;
  };
}

struct ReplayCall {
  archive::ReplayRequest request;
  std::vector<archive::ArchivedFile> files;
  int calls = 0;
};

void replay_with(Harness& h, ReplayCall& call, archive::ReplaySummary summary,
                 bool signal = false) {
  h.ctx.backend.replay = [&call, summary, signal, &h](
                             const archive::ReplayRequest& request,
                             const std::vector<archive::ArchivedFile>& files,
                             const std::function<void(const archive::ReplayProgress&)>& progress,
                             const std::atomic<bool>& stop) {
    ++call.calls;
    call.request = request;
    call.files = files;
    CHECK(&stop == &h.stop);
    CHECK(request.store != nullptr);
    progress(summary.progress);
    if (signal) h.stop = true;
    return summary;
  };
}

// Partition 0's offsets 0 to 19 in two files, all read.
ArchiveState two_files() {
  ArchiveState state;
  state.files = {file(0, 0, 9, "millrace/store-events/0/a.avro"),
                 file(0, 10, 19, "millrace/store-events/0/b.avro")};
  state.stored = {{0, 20}};
  return state;
}

// A replay of kReplay's range: a database that reads its two times, and
// the fake replay replay_with() sets.
struct ReplayRig {
  Harness h;
  ArchiveState state;
  ReplayCall call;
  ReplayRig() {
    state.times = {{"2026-11-20T10:00:00Z", 1000}, {"2026-11-20T11:00:00Z", 2000}};
    use(h, state);
  }
};

const std::vector<std::string> kReplay = {"archive",       "replay",
                                          "--archive-url", "/srv/archive",
                                          "--topic",       "store-events-replayed",
                                          "--from",        "2026-11-20T10:00:00Z",
                                          "--to",          "2026-11-20T11:00:00Z"};

}  // namespace

TEST_CASE("archive list prints each file with its offsets and times, and the totals") {
  Harness h;
  ArchiveState state;
  state.files = {file(0, 0, 9, "millrace/store-events/0/a.avro"),
                 file(1, 0, 0, "millrace/store-events/1/b.avro")};
  state.files[1].records = 0;
  state.files[1].bytes = 3;
  use(h, state);
  CHECK(h.run({"archive", "list", "--partition", "1", "--from", "yesterday"}) == 0);
  REQUIRE(state.filters.size() == 1);
  CHECK(state.filters[0].partition == 1);
  CHECK(state.filters[0].from == "yesterday");
  CHECK_FALSE(state.filters[0].to);
  std::istringstream lines(h.out.str());
  std::string header, a, b, total;
  std::getline(lines, header);
  std::getline(lines, a);
  std::getline(lines, b);
  std::getline(lines, total);
  CHECK_THAT(header, StartsWith("path"));
  CHECK_THAT(header, Contains("partition                 offsets   records        bytes  "
                              "records' time range"));
  CHECK(a == "millrace/store-events/0/a.avro" + std::string(28, ' ') + "         0" +
                 std::string(20, ' ') +
                 "0..9        10            5  2026-11-20T10:00:00Z .. "
                 "2026-11-20T10:05:00Z");
  CHECK_THAT(b, Contains(" -         0            3  (an empty window)"));
  CHECK(total == "2 file(s), 10 record(s), 8 bytes");
}

TEST_CASE("archive list without filters asks for every partition and time") {
  Harness h;
  ArchiveState state;
  use(h, state);
  CHECK(h.run({"archive", "list"}) == 0);
  REQUIRE(state.filters.size() == 1);
  CHECK_FALSE(state.filters[0].partition);
  CHECK_FALSE(state.filters[0].from);
  CHECK_FALSE(state.filters[0].to);
  CHECK_THAT(h.out.str(), Contains("0 file(s), 0 record(s), 0 bytes\n"));
}

TEST_CASE("archive list: a time PostgreSQL cannot read is misuse, exit 2") {
  Harness h;
  ArchiveState state;
  state.invalid_time = "someday";
  use(h, state);
  CHECK(h.run({"archive", "list", "--to", "someday"}) == 2);
  CHECK(h.err.str() ==
        "millrace archive list: invalid time \"someday\"\nTry 'millrace archive list --help'.\n");
  CHECK(h.out.str().empty());
}

TEST_CASE("archive verify passes when every recorded file is there, whole and contiguous") {
  Harness h;
  auto state = two_files();
  use(h, state,
      {{"millrace/store-events/0/a.avro", "hello"}, {"millrace/store-events/0/b.avro", "hello"}});
  CHECK(h.run({"archive", "verify", "--archive-url", "/srv/archive"}) == 0);
  CHECK(h.out.str() ==
        "partition 0: 2 file(s), 20 record(s)\n"
        "OK: 2 file(s) recorded, 2 read back (10 bytes), 20 record(s), 0 discrepancies\n");
}

TEST_CASE("archive verify prints each discrepancy and fails, exit 1") {
  Harness h;
  auto state = two_files();
  // b.avro is missing, and an object nothing records is there.
  use(h, state,
      {{"millrace/store-events/0/a.avro", "hello"}, {"millrace/store-events/0/x.avro", "stray"}});
  CHECK(h.run({"archive", "verify", "--archive-url", "/srv/archive"}) == 1);
  CHECK_THAT(h.out.str(), Contains("millrace/store-events/0/b.avro: missing: recorded with "
                                   "offsets"));
  CHECK_THAT(h.out.str(), Contains("millrace/store-events/0/x.avro: in the archive but recorded "
                                   "by no row of archive_files\n"));
  CHECK_THAT(h.out.str(), Contains("FAILED: 2 file(s) recorded, 1 read back (5 bytes), 20 "
                                   "record(s), 2 discrepancies\n"));
}

TEST_CASE("archive verify counts a single discrepancy in the singular") {
  Harness h;
  ArchiveState state;
  state.files = {file(0, 0, 9, "millrace/store-events/0/a.avro")};
  state.stored = {{0, 10}};
  use(h, state, {{"millrace/store-events/0/a.avro", "hellO"}});
  CHECK(h.run({"archive", "verify", "--archive-url", "/srv/archive"}) == 1);
  CHECK_THAT(h.out.str(), Contains("checksum mismatch"));
  CHECK_THAT(h.out.str(), Contains(", 1 discrepancy\n"));
}

TEST_CASE("archive verify reports an archive it cannot read, exit 1") {
  Harness h;
  ArchiveState state;
  use(h, state);
  h.ctx.backend.open_store = [](const objstore::StoreOptions&) {
    auto store = std::make_unique<objstore::testing::MemoryStore>();
    store->before = [](const std::string&) {
      throw objstore::StoreError(objstore::ErrorKind::kRefused, "access denied");
    };
    return store;
  };
  CHECK(h.run({"archive", "verify", "--archive-url", "/srv/archive"}) == 1);
  CHECK_THAT(h.err.str(), StartsWith("millrace archive verify: "));
  CHECK_THAT(h.err.str(), Contains("access denied"));
}

TEST_CASE("archive verify needs the archive's location, exit 2") {
  Harness h;
  ArchiveState state;
  use(h, state);
  CHECK(h.run({"archive", "verify"}) == 2);
  CHECK_THAT(h.err.str(), Contains("--archive-url / MILLRACE_ARCHIVE_URL"));
}

TEST_CASE("archive replay sends the range's files to the target topic and prints a summary") {
  ReplayRig r;
  auto& [h, state, call] = r;
  state.files = {file(2, 0, 9, "millrace/store-events/2/a.avro")};
  archive::ReplaySummary summary;
  summary.files = 1;
  summary.progress = {10, 4, 6, 6, 0};
  replay_with(h, call, summary);
  auto args = kReplay;
  args.insert(args.end(), {"--partition", "2", "--source-topic", "store-events", "--download-dir",
                           "/tmp/dl", "--brokers", "k:9092"});
  CHECK(h.run(args) == 0);
  REQUIRE(state.filters.size() == 1);
  CHECK(state.filters[0].partition == 2);
  CHECK(state.filters[0].from == "2026-11-20T10:00:00Z");
  CHECK(state.filters[0].to == "2026-11-20T11:00:00Z");
  REQUIRE(call.calls == 1);
  CHECK(call.files.size() == 1);
  CHECK(call.request.source_topic == "store-events");
  CHECK(call.request.target_topic == "store-events-replayed");
  CHECK(call.request.kafka.brokers == "k:9092");
  CHECK(call.request.kafka.client_id == "millrace-archive-replay");
  CHECK(call.request.download_dir == "/tmp/dl");
  CHECK(call.request.from_ms == 1000);
  CHECK(call.request.to_ms == 2000);
  CHECK(h.stop_installs == 1);
  CHECK(h.out.str() ==
        "{\"files\":1,\"records\":10,\"already_in_topic\":4,\"produced\":6,\"delivered\":6,"
        "\"failed\":0,\"stopped\":false}\n");
  CHECK(h.err.str().empty());
}

TEST_CASE("archive replay fails when a delivery failed, naming the first error, exit 1") {
  ReplayRig r;
  auto& [h, state, call] = r;
  archive::ReplaySummary summary;
  summary.files = 2;
  summary.progress = {5, 0, 5, 3, 2};
  summary.first_error = "Broker: Unknown topic or partition";
  replay_with(h, call, summary);
  CHECK(h.run(kReplay) == 1);
  CHECK_THAT(h.out.str(), Contains("\"delivered\":3,\"failed\":2,\"stopped\":false}"));
  CHECK(h.err.str() ==
        "millrace archive replay: 2 deliveries failed, the first: Broker: Unknown topic or "
        "partition\n");
}

TEST_CASE("archive replay stopped by a signal says so and exits 1") {
  ReplayRig r;
  auto& [h, state, call] = r;
  archive::ReplaySummary summary;
  summary.progress = {5, 0, 2, 2, 0};
  replay_with(h, call, summary, /*signal=*/true);
  CHECK(h.run(kReplay) == 1);
  CHECK_THAT(h.out.str(), Contains("\"stopped\":true}"));
  CHECK(h.err.str().empty());
}

TEST_CASE("archive replay reports a replay that threw, exit 1") {
  ReplayRig r;
  auto& h = r.h;
  h.ctx.backend.replay = [](const archive::ReplayRequest&,
                            const std::vector<archive::ArchivedFile>&,
                            const std::function<void(const archive::ReplayProgress&)>&,
                            const std::atomic<bool>&) -> archive::ReplaySummary {
    throw std::runtime_error("checksum mismatch in a.avro");
  };
  CHECK(h.run(kReplay) == 1);
  CHECK(h.err.str() == "millrace archive replay: checksum mismatch in a.avro\n");
  CHECK(h.out.str().empty());
}

TEST_CASE("archive replay's misuse exits 2 before anything is read or produced") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--archive-url", "/a", "--topic", "t", "--from", "x"}, "--from and --to are required"},
      {{"--archive-url", "/a", "--topic", "t", "--to", "x"}, "--from and --to are required"},
      {{"--archive-url", "/a", "--topic", "store-events", "--from", "x", "--to", "y"},
       "--topic is the archived topic itself (store-events); replay into another topic"},
      {{"--archive-url", "/a", "--topic", "mine", "--source-topic", "mine", "--from", "x", "--to",
        "y"},
       "--topic is the archived topic itself (mine)"},
      {{"--topic", "t", "--from", "x", "--to", "y"}, "--archive-url / MILLRACE_ARCHIVE_URL"},
      {{"--archive-url", "/a", "--topic", "t", "--from", "x", "--to", "y", "--progress", "loud"},
       "--progress"},
      {{"--archive-url", "/a", "--topic", "t", "--from", "x", "--to", "y", "--partition", "-2"},
       "--partition"},
  };
  for (const auto& [flags, message] : cases) {
    Harness h;
    ArchiveState state;
    use(h, state);
    ReplayCall call;
    replay_with(h, call, {});
    INFO(message);
    CHECK(h.run({"archive", "replay"}, flags) == 2);
    CHECK_THAT(h.err.str(), StartsWith("millrace archive replay: "));
    CHECK_THAT(h.err.str(), Contains(message));
    CHECK(state.filters.empty());
    CHECK(call.calls == 0);
  }
}

TEST_CASE("archive replay: a time PostgreSQL cannot read is misuse, exit 2") {
  Harness h;
  ArchiveState state;
  state.invalid_time = "soon";
  use(h, state);
  ReplayCall call;
  replay_with(h, call, {});
  auto args = kReplay;
  args.back() = "soon";
  CHECK(h.run(args) == 2);
  CHECK_THAT(h.err.str(), StartsWith("millrace archive replay: invalid time \"soon\""));
  CHECK(call.calls == 0);
  CHECK(h.stop_installs == 0);
}
