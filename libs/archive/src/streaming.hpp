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

// What opened() began: the upload, named by its marker, and the part size
// the store takes for the file.
struct Begun {
  objstore::Unfinished upload;
  std::int64_t part_bytes = 0;
};

struct ObjectDestination::Streaming {
  std::shared_ptr<const SpoolFile> file;
  // Ready once the upload is begun and named (or failed to be).
  std::shared_future<Begun> begun;
  std::int64_t part_bytes = 0;                  // 0 until begun is ready
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
