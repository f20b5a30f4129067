// Capture's layout, time format and windows; its schema as Avro C parses it.
#include "millrace/archive/capture.hpp"

#include <avro.h>

#include <catch2/catch.hpp>
#include <stdexcept>

using namespace millrace::archive;

namespace {
// 2026-11-23T22:40:05.123Z
constexpr std::int64_t kT = 1795473605123;
}  // namespace

TEST_CASE("a file's path: namespace, topic, partition, then its window's start in UTC",
          "[archive]") {
  CHECK(capture_path("millrace", "store-events", 3, kT) ==
        "millrace/store-events/3/2026/11/23/22/40/05.avro");
  CHECK(capture_path("ns", "t", 0, 0) == "ns/t/0/1970/01/01/00/00/00.avro");
  CHECK_THROWS_AS(capture_path("", "t", 0, 0), std::invalid_argument);
  CHECK_THROWS_AS(capture_path("ns", "..", 0, 0), std::invalid_argument);
  CHECK_THROWS_AS(capture_path("ns", "a/b", 0, 0), std::invalid_argument);
  CHECK_THROWS_AS(capture_path("ns", "t", -1, 0), std::invalid_argument);
}

TEST_CASE("EnqueuedTimeUtc is ISO 8601 UTC with seven fractional digits", "[archive]") {
  CHECK(enqueued_time_utc(kT) == "2026-11-23T22:40:05.1230000Z");
  CHECK(enqueued_time_utc(0) == "1970-01-01T00:00:00.0000000Z");
  CHECK(enqueued_time_utc(-1) == "1969-12-31T23:59:59.9990000Z");
}

TEST_CASE("windows are aligned to the epoch, a file rolls at its window's end or its size",
          "[archive]") {
  RollPolicy p;                                 // 5 minutes, 300 MB
  CHECK(window_start(p, kT) == 1795473600000);  // 22:40:00
  CHECK(window_start(p, 1795473600000) == 1795473600000);
  CHECK(window_start(p, 1795473899999) == 1795473600000);
  CHECK(window_start(p, 1795473900000) == 1795473900000);
  CHECK_FALSE(must_roll(p, 1795473600000, 1000, 1795473899999));
  CHECK(must_roll(p, 1795473600000, 1000, 1795473900000));
  CHECK(must_roll(p, 1795473600000, 300'000'000, 1795473600001));
  CHECK_FALSE(must_roll(p, 1795473600000, 299'999'999, 1795473600001));
  RollPolicy bad;
  bad.window_ms = 0;
  CHECK_THROWS_AS(window_start(bad, kT), std::invalid_argument);
}

TEST_CASE("the schema is Capture's EventData record, as Avro parses it", "[archive]") {
  const auto json = capture_schema_json();
  avro_schema_t schema = nullptr;
  REQUIRE(avro_schema_from_json_length(json.data(), json.size(), &schema) == 0);
  CHECK(std::string(avro_schema_name(schema)) == "EventData");
  CHECK(std::string(avro_schema_namespace(schema)) == "Microsoft.ServiceBus.Messaging");
  const char* fields[] = {"SequenceNumber",   "Offset",     "EnqueuedTimeUtc",
                          "SystemProperties", "Properties", "Body"};
  for (int i = 0; i < 6; ++i) {
    INFO(fields[i]);
    CHECK(std::string(avro_schema_record_field_name(schema, i)) == fields[i]);
  }
  CHECK(avro_schema_record_size(schema) == 6);
  CHECK(avro_typeof(avro_schema_record_field_get(schema, "SequenceNumber")) == AVRO_INT64);
  CHECK(avro_typeof(avro_schema_record_field_get(schema, "Body")) == AVRO_UNION);
  avro_schema_decref(schema);
}

TEST_CASE("a file's time: its window's start, else when it opened, always after the last",
          "[archive]") {
  const std::int64_t w = 1795473600000;  // 2026-11-23T22:40:00Z
  // The first file of a batch is named by the window.
  CHECK(file_time(w, w + 61'234, true, std::nullopt) == w);
  CHECK(file_time(w, w + 61'234, true, w - 300'000) == w);
  // A size window filled: the next file is named by when it opened.
  CHECK(file_time(w, w + 61'234, false, w) == w + 61'000);
  // A rebalance mid-window: the window's start is taken.
  CHECK(file_time(w, w + 90'500, true, w) == w + 90'000);
  // Two files opened within one second (a tiny size window): a second apart.
  CHECK(file_time(w, w + 61'900, false, w + 61'000) == w + 62'000);
  // A clock that went back: still after the previous file.
  CHECK(file_time(w, w + 1'000, true, w + 500'000) == w + 501'000);
}
