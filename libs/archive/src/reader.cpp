#include "millrace/archive/reader.hpp"

#include <avro.h>

#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace millrace::archive {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what + ": " + avro_strerror());
}

std::string bytes_of(const std::string& path, avro_value_t& v) {
  const void* data = nullptr;
  size_t size = 0;
  if (avro_value_get_bytes(&v, &data, &size) != 0) fail(path, "reading bytes");
  return {static_cast<const char*>(data), size};
}

std::string string_of(const std::string& path, avro_value_t& v) {
  const char* data = nullptr;
  size_t size = 0;
  if (avro_value_get_string(&v, &data, &size) != 0) fail(path, "reading a string");
  return {data, size > 0 ? size - 1 : 0};  // Avro C counts the NUL
}

// A map value of the union ["long","double","string","bytes"], as text.
std::string map_value(const std::string& path, avro_value_t& entry) {
  int which = -1;
  avro_value_t branch;
  if (avro_value_get_discriminant(&entry, &which) != 0 ||
      avro_value_get_current_branch(&entry, &branch) != 0) {
    fail(path, "reading a map value");
  }
  switch (which) {
    case 0: {
      int64_t l = 0;
      avro_value_get_long(&branch, &l);
      return std::to_string(l);
    }
    case 1: {
      double d = 0;
      avro_value_get_double(&branch, &d);
      char text[64];
      std::snprintf(text, sizeof text, "%.17g", d);
      return text;
    }
    case 2:
      return string_of(path, branch);
    default:
      return bytes_of(path, branch);
  }
}

avro_value_t field(const std::string& path, avro_value_t& record, const char* name) {
  avro_value_t f;
  if (avro_value_get_by_name(&record, name, &f, nullptr) != 0) {
    fail(path, std::string("no field ") + name + " (not a Capture file?)");
  }
  return f;
}

}  // namespace

std::int64_t parse_enqueued_time(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) !=
          6 ||
      used != 19) {
    throw std::invalid_argument("not an EnqueuedTimeUtc: \"" + text + "\"");
  }
  std::size_t i = 19;
  std::int64_t ms = 0;
  if (i < text.size() && text[i] == '.') {
    int digits = 0;
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
      if (digits < 3) ms = ms * 10 + (text[i] - '0');
    }
    if (digits == 0) throw std::invalid_argument("not an EnqueuedTimeUtc: \"" + text + "\"");
    for (; digits < 3; ++digits) ms *= 10;
  }
  if (i + 1 != text.size() || text[i] != 'Z') {
    throw std::invalid_argument("not an EnqueuedTimeUtc (UTC, ending in Z): \"" + text + "\"");
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

void read_capture_file(const std::string& path,
                       const std::function<void(CaptureRecord&&)>& on_record) {
  // Avro C's handles, released in reverse order whatever happens (some of
  // its release functions are macros, hence one holder for all).
  struct Handles {
    avro_file_reader_t reader = nullptr;
    avro_schema_t schema = nullptr;
    avro_value_iface_t* iface = nullptr;
    avro_value_t value{};
    bool has_value = false;
    ~Handles() {
      if (has_value) avro_value_decref(&value);
      if (iface != nullptr) avro_value_iface_decref(iface);
      if (schema != nullptr) avro_schema_decref(schema);
      if (reader != nullptr) avro_file_reader_close(reader);
    }
  } h;
  if (avro_file_reader(path.c_str(), &h.reader) != 0) fail(path, "opening");
  h.schema = avro_file_reader_get_writer_schema(h.reader);
  h.iface = avro_generic_class_from_schema(h.schema);
  if (h.iface == nullptr) fail(path, "reading its schema");
  if (avro_generic_value_new(h.iface, &h.value) != 0) fail(path, "allocating a record");
  h.has_value = true;
  auto& reader = h.reader;
  auto& value = h.value;
  int rc = 0;
  while ((rc = avro_file_reader_read_value(reader, &value)) == 0) {
    CaptureRecord r;
    auto sequence = field(path, value, "SequenceNumber");
    int64_t offset = 0;
    if (avro_value_get_long(&sequence, &offset) != 0) fail(path, "reading SequenceNumber");
    r.offset = offset;
    auto enqueued = field(path, value, "EnqueuedTimeUtc");
    const std::string time = string_of(path, enqueued);
    try {
      r.timestamp_ms = parse_enqueued_time(time);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(path + ": offset " + std::to_string(offset) + ": " + e.what());
    }
    auto system = field(path, value, "SystemProperties");
    size_t n = 0;
    avro_value_get_size(&system, &n);
    for (size_t i = 0; i < n; ++i) {
      avro_value_t entry;
      const char* key = nullptr;
      avro_value_get_by_index(&system, i, &entry, &key);
      const std::string name = key;
      if (name == "x-opt-kafka-key") {
        r.key = map_value(path, entry);
      } else if (name == "x-opt-partition") {
        r.partition = static_cast<std::int32_t>(std::stol(map_value(path, entry)));
      } else if (name == "x-opt-topic") {
        r.topic = map_value(path, entry);
      }
    }
    auto properties = field(path, value, "Properties");
    avro_value_get_size(&properties, &n);
    for (size_t i = 0; i < n; ++i) {
      avro_value_t entry;
      const char* key = nullptr;
      avro_value_get_by_index(&properties, i, &entry, &key);
      r.headers.emplace_back(key, map_value(path, entry));
    }
    auto body = field(path, value, "Body");
    int which = -1;
    avro_value_get_discriminant(&body, &which);
    if (which == 1) {
      avro_value_t branch;
      avro_value_get_current_branch(&body, &branch);
      r.body = bytes_of(path, branch);
    }
    on_record(std::move(r));
    avro_value_reset(&value);
  }
  if (rc != EOF) fail(path, "reading a record");
}

}  // namespace millrace::archive
