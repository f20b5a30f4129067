#pragma once

// Paths into a parsed frame or feed file ("a.b": member b of member a),
// shared by the feed file's reading (feed_file.cpp) and the frames'
// mapping (feed.cpp). Private to the library.

#include <string>
#include <vector>

#include "json_tree.hpp"

namespace millrace::kinds::detail {

inline std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (true) {
    const auto dot = path.find('.', from);
    out.push_back(path.substr(from, dot == std::string::npos ? std::string::npos : dot - from));
    if (dot == std::string::npos) return out;
    from = dot + 1;
  }
}

inline std::string join_path(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& p : path) out += (out.empty() ? "" : ".") + p;
  return out;
}

inline const Json* at(const Json& root, const std::vector<std::string>& path) {
  const Json* j = &root;
  for (const auto& name : path) {
    if (j->type != Json::Type::kObject) return nullptr;
    j = j->member(name);
    if (j == nullptr) return nullptr;
  }
  return j;
}

}  // namespace millrace::kinds::detail
