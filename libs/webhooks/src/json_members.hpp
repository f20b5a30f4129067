#pragma once

// Writes the members of the JSON objects the webhooks library emits (the
// admin JSON, admin_json.cpp, and the CloudEvents envelope, wire.cpp): a
// key and its value, one call each, so that each object is a list of its
// members.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::webhooks::detail {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

inline void put_string(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

inline void string_member(JsonWriter& w, const char* key, std::string_view s) {
  w.Key(key);
  put_string(w, s);
}

// null when empty: the text of a column that may be NULL.
inline void text_or_null_member(JsonWriter& w, const char* key, std::string_view s) {
  w.Key(key);
  if (s.empty()) {
    w.Null();
  } else {
    put_string(w, s);
  }
}

inline void strings_member(JsonWriter& w, const char* key, const std::vector<std::string>& items) {
  w.Key(key);
  w.StartArray();
  for (const auto& i : items) put_string(w, i);
  w.EndArray();
}

inline void int_member(JsonWriter& w, const char* key, std::int64_t i) {
  w.Key(key);
  w.Int64(i);
}

inline void int_or_null_member(JsonWriter& w, const char* key, std::optional<std::int64_t> i) {
  w.Key(key);
  if (i) {
    w.Int64(*i);
  } else {
    w.Null();
  }
}

inline void bool_member(JsonWriter& w, const char* key, bool b) {
  w.Key(key);
  w.Bool(b);
}

inline void double_member(JsonWriter& w, const char* key, double d) {
  w.Key(key);
  w.Double(d);
}

}  // namespace millrace::webhooks::detail
