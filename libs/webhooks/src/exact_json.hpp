#pragma once

// Reads JSON into a rapidjson::Document with every number rounded exactly
// (to the nearest double, as std::from_chars does), which an event's data
// needs when a filter compares it: the value a row holds, not a near one.
//
// Not RapidJSON's kParseFullPrecisionFlag: in the RapidJSON Debian ships
// (1.1.0), that flag takes a zero significand with a large exponent
// ("0e60") to DiyFp::Normalize, which calls __builtin_clzll(0), undefined
// behaviour (the filter's fuzzer found it, UBSan named it). Here the reader
// hands each number over as text (kParseNumbersAsStringsFlag) and this
// converts it: an integer as RapidJSON would store it (int64, else uint64,
// else a double), anything else with std::from_chars.

#include <rapidjson/document.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace millrace::webhooks::detail {

// A number's text as the value RapidJSON would hold; false for one no
// double can hold (beyond ±1.8e308), which RapidJSON refuses too.
template <typename Handler>
bool exact_number(Handler& out, std::string_view text) {
  const char* first = text.data();
  const char* last = first + text.size();
  if (text.find_first_of(".eE") == std::string_view::npos) {
    std::int64_t i = 0;
    if (auto r = std::from_chars(first, last, i); r.ec == std::errc() && r.ptr == last) {
      return out.Int64(i);
    }
    std::uint64_t u = 0;
    if (auto r = std::from_chars(first, last, u); r.ec == std::errc() && r.ptr == last) {
      return out.Uint64(u);
    }
  }
  double d = 0;
  const auto r = std::from_chars(first, last, d);
  if (r.ptr != last) return false;
  if (r.ec == std::errc::result_out_of_range) {
    // Too small rounds to zero (as RapidJSON does), too large is refused.
    d = std::strtod(std::string(text).c_str(), nullptr);
    if (std::isinf(d)) return false;
  } else if (r.ec != std::errc()) {
    return false;
  }
  return out.Double(d);
}

// Forwards every event to the document, numbers converted as above.
class ExactNumbers {
 public:
  explicit ExactNumbers(rapidjson::Document& d) : d_(d) {}
  bool Null() { return d_.Null(); }
  bool Bool(bool b) { return d_.Bool(b); }
  bool Int(int i) { return d_.Int(i); }
  bool Uint(unsigned u) { return d_.Uint(u); }
  bool Int64(std::int64_t i) { return d_.Int64(i); }
  bool Uint64(std::uint64_t u) { return d_.Uint64(u); }
  bool Double(double v) { return d_.Double(v); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    return exact_number(d_, std::string_view(s, n));
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return d_.String(s, n, copy); }
  bool StartObject() { return d_.StartObject(); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return d_.Key(s, n, copy); }
  bool EndObject(rapidjson::SizeType n) { return d_.EndObject(n); }
  bool StartArray() { return d_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return d_.EndArray(n); }

 private:
  rapidjson::Document& d_;
};

// Parses `text` into `doc`, numbers exact; false (and `doc` null) when it
// is not JSON.
inline bool parse_exact(rapidjson::Document& doc, std::string_view text) {
  bool ok = false;
  auto generate = [&](rapidjson::Document& target) {
    rapidjson::Reader reader;
    rapidjson::MemoryStream bytes(text.data(), text.size());
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> in(bytes);
    ExactNumbers handler(target);
    ok = !reader
              .Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag>(
                  in, handler)
              .IsError();
    return ok;
  };
  doc.Populate(generate);
  if (!ok) doc.SetNull();
  return ok;
}

}  // namespace millrace::webhooks::detail
