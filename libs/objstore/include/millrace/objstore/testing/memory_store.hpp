#pragma once

// An ObjectStore in memory, for the unit tests of what uses a store: it
// keeps objects and unfinished uploads, counts operations, and fails the
// operations a test names, as a store would (the test double the stores'
// interface exists for).

#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/objstore/store.hpp"

namespace millrace::objstore::testing {

class MemoryStore final : public ObjectStore {
 public:
  std::map<std::string, std::string> objects;
  std::map<std::string, std::string> uploads;  // unfinished: key -> id
  // The parts of begun uploads: "key id" -> part number -> bytes.
  std::map<std::string, std::map<int, std::string>> parts;
  std::map<std::string, int> calls;  // per operation name
  // Called with each operation's name ("put", "copy", ...) before it runs;
  // what it throws, the operation throws.
  std::function<void(const std::string&)> before;

  std::string describe() const override { return "memory://test/"; }

  void put_file(const std::string& key, const std::string& path) override {
    enter("put");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw StoreError(ErrorKind::kRefused, "cannot read " + path);
    std::stringstream bytes;
    bytes << in.rdbuf();
    objects[key] = bytes.str();
    uploads.erase(key);
  }
  std::optional<std::int64_t> size_of(const std::string& key) override {
    enter("size_of");
    const auto it = objects.find(key);
    if (it == objects.end()) return std::nullopt;
    return static_cast<std::int64_t>(it->second.size());
  }
  void read(const std::string& key, const std::function<void(std::string_view)>& sink) override {
    enter("read");
    const auto it = objects.find(key);
    if (it == objects.end()) throw StoreError(ErrorKind::kNotFound, key + " not found");
    sink(it->second);
  }
  void copy(const std::string& from, const std::string& to) override {
    enter("copy");
    const auto it = objects.find(from);
    if (it == objects.end()) throw StoreError(ErrorKind::kNotFound, from + " not found");
    objects[to] = it->second;
  }
  void remove(const std::string& key) override {
    enter("remove");
    objects.erase(key);
  }
  std::vector<ObjectInfo> list(const std::string& prefix) override {
    enter("list");
    std::vector<ObjectInfo> out;
    for (const auto& [k, v] : objects) {
      if (k.rfind(prefix, 0) == 0) out.push_back({k, static_cast<std::int64_t>(v.size())});
    }
    return out;
  }
  std::vector<Unfinished> unfinished(const std::string& prefix) override {
    enter("unfinished");
    std::vector<Unfinished> out;
    for (const auto& [k, id] : uploads) {
      if (k.rfind(prefix, 0) == 0) out.push_back({k, id});
    }
    return out;
  }
  void abort(const Unfinished& upload) override {
    enter("abort");
    uploads.erase(upload.key);
    parts.erase(upload.key + " " + upload.id);
  }
  Unfinished begin_upload(const std::string& key, const std::string& tag) override {
    enter("begin_upload");
    const std::string id = tag + "." + std::to_string(++begun_);
    uploads[key] = id;
    parts[key + " " + id];
    return {key, id};
  }
  std::int64_t part_size_for(std::int64_t) const override { return part_bytes; }
  std::int64_t min_part_size() const override { return min_part_bytes; }
  std::string upload_part(const Unfinished& upload, int n, std::string_view bytes) override {
    enter("upload_part");
    const auto it = parts.find(upload.key + " " + upload.id);
    if (it == parts.end()) throw StoreError(ErrorKind::kNotFound, upload.key + ": no such upload");
    it->second[n] = std::string(bytes);
    return std::to_string(n);
  }
  void complete_upload(const Unfinished& upload, const std::vector<std::string>& tags) override {
    enter("complete_upload");
    const auto it = parts.find(upload.key + " " + upload.id);
    if (it == parts.end()) throw StoreError(ErrorKind::kNotFound, upload.key + ": no such upload");
    std::string bytes;
    for (const auto& tag : tags) bytes += it->second.at(std::stoi(tag));
    objects[upload.key] = bytes;
    parts.erase(it);
    if (uploads[upload.key] == upload.id) uploads.erase(upload.key);
  }
  std::optional<std::vector<std::string>> uploaded_parts(const Unfinished& upload) override {
    enter("uploaded_parts");
    const auto it = parts.find(upload.key + " " + upload.id);
    if (it == parts.end()) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& [n, bytes] : it->second) out.push_back(std::to_string(n));
    return out;
  }

  std::int64_t part_bytes = 5 << 20;
  std::int64_t min_part_bytes = 1;
  void check() override { enter("check"); }

 private:
  int begun_ = 0;
  void enter(const std::string& op) {
    ++calls[op];
    if (before) before(op);
  }
};

}  // namespace millrace::objstore::testing
