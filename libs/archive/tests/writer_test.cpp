// Capture files written to a temporary directory and read back with Avro
// C's reader: every field, the published name, the checksum, and what an
// unfinished writer leaves (nothing).
#include "millrace/archive/writer.hpp"

#include <avro.h>
#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "temp_dir.hpp"

using namespace millrace::archive;
namespace fs = std::filesystem;
using millrace::archive::testing::TempDir;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string sha256_hex(const std::string& data) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), d, &n, EVP_sha256(), nullptr);
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned i = 0; i < n; ++i) {
    out += kHex[d[i] >> 4];
    out += kHex[d[i] & 0xf];
  }
  return out;
}

struct Read {
  std::int64_t sequence = 0;
  std::string offset, enqueued;
  std::map<std::string, std::string> system, properties;
  std::optional<std::string> body;
};

std::string bytes_of(avro_value_t& v) {
  const void* data = nullptr;
  size_t size = 0;
  REQUIRE(avro_value_get_bytes(&v, &data, &size) == 0);
  return {static_cast<const char*>(data), size};
}

std::string string_of(avro_value_t& v) {
  const char* data = nullptr;
  size_t size = 0;
  REQUIRE(avro_value_get_string(&v, &data, &size) == 0);
  return {data, size - 1};  // without the NUL
}

std::map<std::string, std::string> map_of(avro_value_t& map) {
  std::map<std::string, std::string> out;
  size_t n = 0;
  REQUIRE(avro_value_get_size(&map, &n) == 0);
  for (size_t i = 0; i < n; ++i) {
    avro_value_t entry, branch;
    const char* key = nullptr;
    REQUIRE(avro_value_get_by_index(&map, i, &entry, &key) == 0);
    int which = -1;
    REQUIRE(avro_value_get_discriminant(&entry, &which) == 0);
    REQUIRE(avro_value_get_current_branch(&entry, &branch) == 0);
    if (which == 0) {
      int64_t l = 0;
      REQUIRE(avro_value_get_long(&branch, &l) == 0);
      out[key] = "long:" + std::to_string(l);
    } else if (which == 2) {
      out[key] = "string:" + string_of(branch);
    } else {
      REQUIRE(which == 3);
      out[key] = bytes_of(branch);
    }
  }
  return out;
}

std::vector<Read> read_file(const fs::path& p) {
  avro_file_reader_t reader;
  REQUIRE(avro_file_reader(p.c_str(), &reader) == 0);
  avro_schema_t schema = avro_file_reader_get_writer_schema(reader);
  avro_value_iface_t* iface = avro_generic_class_from_schema(schema);
  avro_value_t value;
  REQUIRE(avro_generic_value_new(iface, &value) == 0);
  std::vector<Read> out;
  while (avro_file_reader_read_value(reader, &value) == 0) {
    Read r;
    avro_value_t f, branch;
    avro_value_get_by_name(&value, "SequenceNumber", &f, nullptr);
    avro_value_get_long(&f, &r.sequence);
    avro_value_get_by_name(&value, "Offset", &f, nullptr);
    r.offset = string_of(f);
    avro_value_get_by_name(&value, "EnqueuedTimeUtc", &f, nullptr);
    r.enqueued = string_of(f);
    avro_value_get_by_name(&value, "SystemProperties", &f, nullptr);
    r.system = map_of(f);
    avro_value_get_by_name(&value, "Properties", &f, nullptr);
    r.properties = map_of(f);
    avro_value_get_by_name(&value, "Body", &f, nullptr);
    int which = -1;
    avro_value_get_discriminant(&f, &which);
    if (which == 1) {
      avro_value_get_current_branch(&f, &branch);
      r.body = bytes_of(branch);
    }
    out.push_back(std::move(r));
  }
  avro_value_decref(&value);
  avro_value_iface_decref(iface);
  avro_schema_decref(schema);
  avro_file_reader_close(reader);
  return out;
}

}  // namespace

TEST_CASE("a finished file holds each record's fields, under its final name, with its checksum",
          "[archive][writer]") {
  TempDir dir;
  DirectoryDestination dest(dir.path.string());
  const std::string rel = capture_path("millrace", "store-events", 1, 1795473600000);
  CaptureFileWriter w(dest, "store-events/1/41-w1.avro", 1);
  const std::string binary("\x00\x01\xff{", 4);
  w.append({"store-events",
            1,
            41,
            1795473605123,
            std::string("k-1"),
            {{"event_type", "sale_event"}, {"empty", ""}},
            std::string(R"({"id":"a"})")});
  w.append({"store-events", 1, 43, 1795473606000, std::nullopt, {}, std::nullopt});
  w.append({"store-events", 1, 44, 1795473607000, std::nullopt, {}, binary});
  CHECK(w.records() == 3);
  CHECK_THROWS_AS(w.append({"store-events", 1, 44, 0, {}, {}, {}}), std::logic_error);
  const auto f = w.finish();

  CHECK(f.staged == "store-events/1/41-w1.avro");
  CHECK(f.partition == 1);
  CHECK(f.first_offset == 41);
  CHECK(f.last_offset == 44);
  CHECK(f.records == 3);
  CHECK(f.min_time_ms == 1795473605123);
  CHECK(f.max_time_ms == 1795473607000);
  // Staged, not yet in the layout, until it is published.
  const fs::path staged = dir.path / ".staging" / f.staged;
  const fs::path on_disk = dir.path / rel;
  CHECK(fs::exists(staged));
  CHECK_FALSE(fs::exists(on_disk));
  CHECK(dest.publish(f.staged, rel) == Destination::Published::kMoved);
  REQUIRE(fs::exists(on_disk));
  CHECK_FALSE(fs::exists(staged));
  const std::string bytes = read_all(on_disk);
  CHECK(f.bytes == static_cast<std::int64_t>(bytes.size()));
  CHECK(f.sha256 == sha256_hex(bytes));
  CHECK(bytes.compare(0, 4, "Obj\x01") == 0);  // an Avro object container file

  const auto records = read_file(on_disk);
  REQUIRE(records.size() == 3);
  CHECK(records[0].sequence == 41);
  CHECK(records[0].offset == "41");
  CHECK(records[0].enqueued == "2026-11-23T22:40:05.1230000Z");
  CHECK(records[0].system.at("x-opt-kafka-key") == "k-1");
  CHECK(records[0].system.at("x-opt-partition") == "long:1");
  CHECK(records[0].system.at("x-opt-topic") == "string:store-events");
  CHECK(records[0].properties ==
        std::map<std::string, std::string>{{"event_type", "sale_event"}, {"empty", ""}});
  CHECK(records[0].body == R"({"id":"a"})");
  CHECK(records[1].sequence == 43);
  CHECK(records[1].system.count("x-opt-kafka-key") == 0);
  CHECK_FALSE(records[1].body.has_value());
  CHECK(records[2].body == binary);
}

TEST_CASE("a writer destroyed unfinished leaves nothing, a new one replaces a leftover",
          "[archive][writer]") {
  TempDir dir;
  DirectoryDestination dest(dir.path.string());
  {
    CaptureFileWriter w(dest, "t/0/1-a.avro", 0);
    w.append({"t", 0, 1, 0, {}, {}, std::string("x")});
  }
  CHECK(dest.staged_in("t/0").empty());

  // A staged file left by a writer that crashed: replaced.
  {
    CaptureFileWriter w(dest, "t/0/1-a.avro", 0);
    w.append({"t", 0, 1, 0, {}, {}, std::string("old")});
    w.finish();
  }
  CaptureFileWriter w(dest, "t/0/1-a.avro", 0);
  w.append({"t", 0, 1, 0, {}, {}, std::string("new")});
  w.append({"t", 0, 2, 0, {}, {}, std::string("new 2")});
  const auto f = w.finish();
  CHECK(f.records == 2);
  const auto records = read_file(dir.path / ".staging/t/0/1-a.avro");
  REQUIRE(records.size() == 2);
  CHECK(records[0].body == "new");
}

TEST_CASE("publishing is idempotent, and says when the file is nowhere", "[archive][writer]") {
  TempDir dir;
  DirectoryDestination dest(dir.path.string());
  const std::string rel = capture_path("ns", "t", 0, 0);
  {
    CaptureFileWriter w(dest, "t/0/5-a.avro", 0);
    w.append({"t", 0, 5, 0, {}, {}, std::string("x")});
    w.finish();
  }
  {
    CaptureFileWriter w(dest, "t/0/9-b.avro", 0);
    w.finish();
  }
  CHECK(dest.staged_in("t/0").size() == 2);
  CHECK(dest.staged_in("t/7").empty());
  CHECK(dest.publish("t/0/5-a.avro", rel) == Destination::Published::kMoved);
  // A second publish (another member rolling the same file forward) finds
  // it done.
  CHECK(dest.publish("t/0/5-a.avro", rel) == Destination::Published::kAlready);
  CHECK(read_file(dir.path / rel).size() == 1);
  CHECK(dest.staged_in("t/0") == std::vector<std::string>{"t/0/9-b.avro"});
  dest.remove_staged("t/0/9-b.avro");
  dest.remove_staged("t/0/9-b.avro");  // gone already: fine
  CHECK(dest.staged_in("t/0").empty());
  CHECK(dest.publish("t/0/9-b.avro", "ns/t/0/elsewhere.avro") == Destination::Published::kMissing);
}

TEST_CASE("an empty file is a valid Avro file with no records", "[archive][writer]") {
  TempDir dir;
  DirectoryDestination dest(dir.path.string());
  CaptureFileWriter w(dest, "t/0/x.avro", 0);
  const auto f = w.finish();
  CHECK(f.records == 0);
  CHECK(f.first_offset == -1);
  CHECK(f.min_time_ms == -1);
  CHECK(read_file(dir.path / ".staging/t/0/x.avro").empty());
}

TEST_CASE(
    "records up to Kafka's default largest fit a block, a larger one is refused, naming "
    "the setting",
    "[archive][writer]") {
  TempDir dir;
  DirectoryDestination dest(dir.path.string());
  {
    // Avro C's own default block (16 KiB) refused records above it.
    CaptureFileWriter w(dest, "t/0/1-a.avro", 0);
    w.append({"t", 0, 1, 0, {}, {}, std::string(1000 * 1000, 'x')});
    w.append({"t", 0, 2, 0, {}, {}, std::string(48 * 1024, 'y')});
    const auto f = w.finish();
    CHECK(f.records == 2);
    const auto records = read_file(dir.path / ".staging/t/0/1-a.avro");
    REQUIRE(records.size() == 2);
    CHECK(records[0].body->size() == 1000 * 1000);
  }
  CaptureFileWriter w(dest, "t/0/3-a.avro", 0, 64 * 1024);
  CHECK_THROWS_WITH(w.append({"t", 0, 3, 0, {}, {}, std::string(70 * 1024, 'z')}),
                    Catch::Contains("raise MILLRACE_ARCHIVE_MAX_RECORD_KB"));
}
