// Capture files read back by our reader, which replay uses: every field as
// it was written, and a damaged file refused with its name.
#include "millrace/archive/reader.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "millrace/archive/index.hpp"
#include "millrace/archive/writer.hpp"
#include "millrace/objstore/options.hpp"
#include "millrace/objstore/store.hpp"
#include "object_destination.hpp"
#include "temp_dir.hpp"

using namespace millrace::archive;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using millrace::archive::testing::TempDir;

TEST_CASE("EnqueuedTimeUtc reads back to milliseconds", "[archive][reader]") {
  CHECK(parse_enqueued_time("2026-11-23T22:40:05.1230000Z") == 1795473605123);
  CHECK(parse_enqueued_time(enqueued_time_utc(1795473605987)) == 1795473605987);
  CHECK(parse_enqueued_time("2026-11-23T22:40:05Z") == 1795473605000);
  CHECK(parse_enqueued_time("2026-11-23T22:40:05.5Z") == 1795473605500);
  CHECK_THROWS_AS(parse_enqueued_time("2026-11-23 22:40:05Z"), std::invalid_argument);
  CHECK_THROWS_AS(parse_enqueued_time("2026-11-23T22:40:05.123+01:00"), std::invalid_argument);
  CHECK_THROWS_AS(parse_enqueued_time("2026-11-23T22:40:05."), std::invalid_argument);
}

TEST_CASE("a file reads back record for record, every field as written", "[archive][reader]") {
  TempDir dir;
  DirectoryDestination dest(dir.path.string());
  std::vector<CaptureRecord> written{
      {"store-events",
       3,
       10,
       1795473605123,
       std::string("k1"),
       {{"event_type", "sale_event"}},
       std::string("{\"a\":1}")},
      {"store-events", 3, 12, 1795473606000, std::nullopt, {}, std::nullopt},
      {"store-events",
       3,
       13,
       1795473607001,
       std::string(""),
       {{"h", ""}, {"b", "\x01\x00"}},
       std::string("\x00\xff", 2)}};
  {
    CaptureFileWriter w(dest, "f.avro", 3);
    for (const auto& r : written) w.append(r);
    w.finish();
  }
  std::vector<CaptureRecord> read;
  read_capture_file((dir.path / ".staging/f.avro").string(),
                    [&](CaptureRecord&& r) { read.push_back(std::move(r)); });
  REQUIRE(read.size() == written.size());
  for (std::size_t i = 0; i < read.size(); ++i) {
    INFO("record " << i);
    CHECK(read[i].topic == written[i].topic);
    CHECK(read[i].partition == written[i].partition);
    CHECK(read[i].offset == written[i].offset);
    CHECK(read[i].timestamp_ms == written[i].timestamp_ms);
    CHECK(read[i].key == written[i].key);
    CHECK(read[i].body == written[i].body);
    auto want = written[i].headers;
    auto got = read[i].headers;
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    CHECK(got == want);
  }
}

TEST_CASE("a truncated file is refused with its name", "[archive][reader]") {
  TempDir dir;
  DirectoryDestination dest(dir.path.string());
  {
    CaptureFileWriter w(dest, "f.avro", 0);
    for (int i = 0; i < 50; ++i) w.append({"t", 0, i, 0, {}, {}, std::string(100, 'x')});
    w.finish();
  }
  const fs::path p = dir.path / ".staging/f.avro";
  fs::resize_file(p, fs::file_size(p) - 40);
  CHECK_THROWS_WITH(read_capture_file(p.string(), [](CaptureRecord&&) {}), Contains(p.string()));
  CHECK_THROWS_WITH(read_capture_file((dir.path / "none.avro").string(), [](CaptureRecord&&) {}),
                    Contains("none.avro"));
}

TEST_CASE("archived files read back in order, staged or published, each checked first",
          "[archive][reader]") {
  TempDir dir;
  DirectoryDestination dest(dir.path.string());
  {
    CaptureFileWriter w(dest, "f.avro", 3);
    w.append(
        {"sales", 3, 7, 1795473605123, std::nullopt, {{"event_type", "sale"}}, std::string("{}")});
    w.append({"sales", 3, 9, 1795473606000, std::nullopt, {}, std::string("[]")});
    w.finish();
  }
  millrace::objstore::StoreOptions options;
  options.url = "file://" + dir.path.string();
  millrace::objstore::validate(options);
  auto store = millrace::objstore::open_store(options);
  ArchivedFile row;
  row.path = "ns/sales/3/2026/11/23/22/40/05.avro";
  row.staged = "f.avro";
  row.partition = 3;
  row.from_offset = 7;
  row.first_offset = 7;
  row.last_offset = 9;
  row.records = 2;
  row.sha256 = sha256_of_file((dir.path / ".staging/f.avro").string());
  const auto offsets = [&](const ArchivedFile& f, const std::string& topic) {
    std::vector<std::int64_t> out;
    read_archived(*store, "", topic, {f}, [&](CaptureRecord&& r) { out.push_back(r.offset); });
    return out;
  };
  // Recorded, not published yet: read where it is staged.
  CHECK(offsets(row, "sales") == std::vector<std::int64_t>{7, 9});
  // Published meanwhile (moved into place), the row not yet saying so.
  fs::create_directories((dir.path / row.path).parent_path());
  fs::rename(dir.path / ".staging/f.avro", dir.path / row.path);
  CHECK(offsets(row, "sales") == std::vector<std::int64_t>{7, 9});
  row.published = true;
  CHECK(offsets(row, "sales") == std::vector<std::int64_t>{7, 9});
  // Its records are of another topic than the row's; its bytes are not the row's.
  CHECK_THROWS_WITH(offsets(row, "orders"), Contains("says it is of sales[3]"));
  row.sha256 = std::string(64, '0');
  CHECK_THROWS_WITH(offsets(row, "sales"), Contains("does not match its checksum"));
  // In a bucket, what is staged of a file not published yet is its upload's
  // marker: the file is read in its place once the upload is completed, and
  // until then the store's error says to come back.
  row.sha256 = sha256_of_file((dir.path / row.path).string());
  row.published = false;
  fs::rename(dir.path / row.path, dir.path / "completed.avro");
  {
    std::ofstream marker(dir.path / ".staging/f.avro");
    marker << millrace::archive::detail::marker_text({row.path, "7", "upload-1"});
  }
  try {
    offsets(row, "sales");
    FAIL("a file whose upload is not completed was read");
  } catch (const millrace::objstore::StoreError& e) {
    CHECK(e.kind() == millrace::objstore::ErrorKind::kNotFound);
    CHECK_THAT(std::string(e.what()), Contains("not completed yet"));
  }
  fs::rename(dir.path / "completed.avro", dir.path / row.path);
  CHECK(offsets(row, "sales") == std::vector<std::int64_t>{7, 9});
}
