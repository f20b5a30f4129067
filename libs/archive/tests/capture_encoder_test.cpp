// The archiver's own Avro encoding of a Capture record against Avro C's:
// each record built as Avro C's generic value of the Capture schema (as the
// writer built it before) and written with avro_value_write must give the
// very bytes CaptureEncoder writes.
#include "capture_encoder.hpp"

#include <avro.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "millrace/archive/capture.hpp"

using millrace::archive::CaptureRecord;

namespace {

void ok(int rc) {
  if (rc != 0) FAIL(avro_strerror());
}

void bytes_entry(avro_value_t& map, const std::string& key, int branch_index,
                 const std::string& data) {
  avro_value_t entry, branch;
  ok(avro_value_add(&map, key.c_str(), &entry, nullptr, nullptr));
  ok(avro_value_set_branch(&entry, branch_index, &branch));
  if (branch_index == 2) {
    ok(avro_value_set_string_len(&branch, data.c_str(), data.size() + 1));
  } else {
    ok(avro_value_set_bytes(&branch, const_cast<char*>(data.data()), data.size()));
  }
}

// What Avro C's generic value of the Capture schema writes for `r`.
std::string avro_c_encoding(const CaptureRecord& r) {
  const auto json = millrace::archive::capture_schema_json();
  avro_schema_t schema = nullptr;
  ok(avro_schema_from_json_length(json.data(), json.size(), &schema));
  avro_value_iface_t* iface = avro_generic_class_from_schema(schema);
  avro_value_t value, f;
  ok(avro_generic_value_new(iface, &value));
  ok(avro_value_get_by_name(&value, "SequenceNumber", &f, nullptr));
  ok(avro_value_set_long(&f, r.offset));
  const std::string offset = std::to_string(r.offset);
  const std::string time = millrace::archive::enqueued_time_utc(r.timestamp_ms);
  ok(avro_value_get_by_name(&value, "Offset", &f, nullptr));
  ok(avro_value_set_string_len(&f, offset.c_str(), offset.size() + 1));
  ok(avro_value_get_by_name(&value, "EnqueuedTimeUtc", &f, nullptr));
  ok(avro_value_set_string_len(&f, time.c_str(), time.size() + 1));
  ok(avro_value_get_by_name(&value, "SystemProperties", &f, nullptr));
  if (r.key) bytes_entry(f, "x-opt-kafka-key", 3, *r.key);
  {
    avro_value_t entry, branch;
    ok(avro_value_add(&f, "x-opt-partition", &entry, nullptr, nullptr));
    ok(avro_value_set_branch(&entry, 0, &branch));
    ok(avro_value_set_long(&branch, r.partition));
  }
  bytes_entry(f, "x-opt-topic", 2, r.topic);
  ok(avro_value_get_by_name(&value, "Properties", &f, nullptr));
  for (const auto& header : r.headers) bytes_entry(f, header.first, 3, header.second);
  ok(avro_value_get_by_name(&value, "Body", &f, nullptr));
  avro_value_t branch;
  if (r.body) {
    ok(avro_value_set_branch(&f, 1, &branch));
    ok(avro_value_set_bytes(&branch, const_cast<char*>(r.body->data()), r.body->size()));
  } else {
    ok(avro_value_set_branch(&f, 0, &branch));
    ok(avro_value_set_null(&branch));
  }
  size_t size = 0;
  ok(avro_value_sizeof(&value, &size));
  std::string out(size, '\0');
  avro_writer_t writer = avro_writer_memory(out.data(), static_cast<int64_t>(out.size()));
  ok(avro_value_write(writer, &value));
  out.resize(static_cast<std::size_t>(avro_writer_tell(writer)));
  avro_writer_free(writer);
  avro_value_decref(&value);
  avro_value_iface_decref(iface);
  avro_schema_decref(schema);
  return out;
}

CaptureRecord record(std::int64_t offset) {
  CaptureRecord r;
  r.topic = "store.events";
  r.partition = 7;
  r.offset = offset;
  r.timestamp_ms = 1'764'460'800'123;
  r.key = "order-42";
  r.headers = {{"event_type", "order.created"}, {"schema", "v1"}};
  r.body = std::string(300, 'x');
  return r;
}

}  // namespace

TEST_CASE("a Capture record encoded by hand is what Avro C's generic value writes",
          "[archive][writer]") {
  std::vector<CaptureRecord> records;
  records.push_back(record(0));
  records.push_back(record(std::numeric_limits<std::int64_t>::max()));
  auto r = record(63);  // SequenceNumber's zigzag at the edge of one byte
  r.key.reset();
  r.body.reset();
  r.headers.clear();
  records.push_back(r);
  r = record(64);
  r.timestamp_ms = -1;  // before 1970
  r.partition = 0;
  r.key = std::string();                 // empty, not absent
  r.body = std::string(70'000, '\xff');  // a length of three bytes
  // A name twice (Avro C's map keeps its first place and its last value),
  // and names that differ only past a NUL (a C string's key ends there).
  r.headers = {{"a", "1"},
               {"b", "2"},
               {"a", "3"},
               {std::string("c\0x", 3), "4"},
               {std::string("c\0y", 3), "5"},
               {"", ""}};
  records.push_back(r);
  const std::vector<std::int64_t> times{1'764'460'800'999,
                                        1'764'460'800'000,
                                        1'764'460'801'007,
                                        -999,
                                        -1000,
                                        -1001,
                                        std::numeric_limits<std::int64_t>::min()};
  for (const std::int64_t t : times) {
    r = record(70 + static_cast<std::int64_t>(records.size()));  // a second's text kept, or not
    r.timestamp_ms = t;
    records.push_back(r);
  }
  r = record(1'000'000);
  r.topic = std::string(200, 't');
  r.partition = std::numeric_limits<std::int32_t>::max();
  records.push_back(r);

  millrace::archive::detail::CaptureEncoder encoder;
  for (const auto& rec : records) {
    INFO("offset " << rec.offset);
    std::vector<std::pair<std::string_view, std::string_view>> headers;
    const auto view = millrace::archive::view_of(rec, headers);
    CHECK(std::string(encoder.encode(view)) == avro_c_encoding(rec));
  }
}
