#pragma once

// The reading of a settings document parsed by json_tree.hpp (a kind's
// declaration, a feed file): typed members, unknown ones refused, each
// problem named by where it is. Private to the library.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "json_tree.hpp"
#include "millrace/core/decimal.hpp"
#include "millrace/core/options.hpp"

namespace millrace::kinds::detail {

// Reads a JSON document of settings (a kind's declaration, a feed file),
// naming where each problem is ("fields[3].type"): every failure is a
// core::UsageError starting with what the document is.
class DocReader {
 public:
  explicit DocReader(std::string what) : what_(std::move(what)) {}

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw core::UsageError(what_ + ": " + (where.empty() ? "" : where + ": ") + what);
  }

  // Refuses members other than `known`: a misspelt one would otherwise be
  // ignored, and its setting silently lost.
  void only(const Json& object, const std::string& where,
            std::initializer_list<std::string_view> known) const {
    if (object.type != Json::Type::kObject) fail(where, "must be an object");
    for (const auto& [key, value] : object.members) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        fail(where, "unknown member \"" + std::string(key) + "\"");
      }
      std::size_t n = 0;
      object.member(key, &n);
      if (n > 1) fail(where, "member \"" + std::string(key) + "\" appears more than once");
    }
  }

  const Json& need(const Json& object, std::string_view name, const std::string& where) const {
    const Json* j = object.member(name);
    if (j == nullptr) fail(where, "missing \"" + std::string(name) + "\"");
    return *j;
  }

  std::string string(const Json& j, const std::string& where) const {
    if (j.type != Json::Type::kString || j.text.empty()) fail(where, "must be a non-empty string");
    return std::string(j.text);
  }

  // A name that goes into SQL unquoted: lower case letters, digits and _.
  std::string identifier(const Json& j, const std::string& where) const {
    auto s = string(j, where);
    const bool ok = s.size() <= 63 &&
                    (std::islower(static_cast<unsigned char>(s[0])) != 0 || s[0] == '_') &&
                    std::all_of(s.begin(), s.end(), [](char c) {
                      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                    });
    if (!ok) {
      fail(where, "\"" + s + "\" must be 1..63 of a-z, 0-9 and _, not starting with a digit");
    }
    return s;
  }

  std::int64_t integer(const Json& j, const std::string& where, std::int64_t lo,
                       std::int64_t hi) const {
    std::int64_t v = 0;
    const auto* end = j.text.data() + j.text.size();
    // Past 64 bits from_chars sets ec, not ptr, and leaves v as it was.
    const auto parsed = [&] {
      const auto r = std::from_chars(j.text.data(), end, v);
      return r.ptr == end && r.ec == std::errc();
    };
    if (j.type != Json::Type::kNumber || !parsed() || v < lo || v > hi) {
      fail(where, "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return v;
  }

  bool boolean(const Json* j, const std::string& where) const {
    if (j == nullptr) return false;
    if (j->type != Json::Type::kBool) fail(where, "must be true or false");
    return j->boolean;
  }

  core::Decimal decimal(const Json& j, const std::string& where) const {
    const auto d = j.type == Json::Type::kNumber ? core::Decimal::parse(j.text) : std::nullopt;
    if (!d) fail(where, "must be a number with at most six decimals");
    return *d;
  }

  std::vector<std::string> strings(const Json& j, const std::string& where) const {
    if (j.type != Json::Type::kArray || j.items.empty()) {
      fail(where, "must be a non-empty array of strings");
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < j.items.size(); ++i) {
      out.push_back(string(j.items[i], where + "[" + std::to_string(i) + "]"));
    }
    return out;
  }

 private:
  std::string what_;
};

}  // namespace millrace::kinds::detail
