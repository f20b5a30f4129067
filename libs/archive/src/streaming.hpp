#pragma once

// A file whose upload ObjectDestination began as it opened, and whose parts
// go up while it is written (object_streaming.cpp), until prepare() sends
// the rest (object_destination.cpp).

#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "object_destination.hpp"
#include "spool_file.hpp"

namespace millrace::archive::detail {

// Defined here, for both of the destination's sources.
template <typename F>
auto ObjectDestination::reported(F&& op) -> decltype(op(std::declval<objstore::ObjectStore&>())) {
  Lease store(*this);
  try {
    if constexpr (std::is_void_v<decltype(op(*store))>) {
      op(*store);
      if (health_ != nullptr) health_->succeeded();
    } else {
      auto out = op(*store);
      if (health_ != nullptr) health_->succeeded();
      return out;
    }
  } catch (const objstore::StoreError& e) {
    const std::string explained = objstore::explain(e, *store);
    if (health_ != nullptr) health_->failed(e.kind(), explained);
    throw objstore::StoreError(e.kind(), explained);
  }
}

// What opened() began: the upload, named by its marker, the part size the
// store takes for the file, and how many parts shorter than that (sent by
// caught_up()) the store's limit on parts leaves room for, of how many
// bytes at least.
struct Begun {
  objstore::Unfinished upload;
  std::int64_t part_bytes = 0;
  int short_parts = 0;
  std::int64_t short_min = 0;
};

struct ObjectDestination::Streaming {
  std::shared_ptr<const SpoolFile> file;
  // Ready once the upload is begun and named (or failed to be).
  std::shared_future<Begun> begun;
  std::int64_t part_bytes = 0;                  // 0 until begun is ready
  int short_parts = 0;                          // left to send, once begun
  std::int64_t short_min = 0;                   // their least size
  std::int64_t written = 0;                     // what grew() said
  std::int64_t sent = 0;                        // the bytes handed to parts
  std::vector<std::future<std::string>> parts;  // part n's id at n - 1

  // Waits for everything sent (none is left running); the upload, when it
  // was begun and named.
  std::optional<objstore::Unfinished> settle() noexcept {
    for (auto& part : parts) {
      if (part.valid()) part.wait();
    }
    try {
      return begun.get().upload;
    } catch (...) {
      return std::nullopt;
    }
  }
};

}  // namespace millrace::archive::detail
