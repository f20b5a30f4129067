// Capture files read back by our reader, which replay uses: every field as
// it was written, and a damaged file refused with its name.
#include "millrace/archive/reader.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "millrace/archive/writer.hpp"
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
