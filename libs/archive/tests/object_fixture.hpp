#pragma once

// An ObjectDestination over an in-memory store, one upload thread, for the
// destination's tests (object_destination_test.cpp, object_streaming_test.cpp).

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include "millrace/objstore/testing/memory_store.hpp"
#include "object_destination.hpp"
#include "temp_dir.hpp"

namespace millrace::archive::testing {

struct Fixture {
  TempDir spool;
  objstore::testing::MemoryStore* store = nullptr;  // owned by the destination (set below)
  objstore::testing::MemoryStore* probe_store = nullptr;
  detail::StoreHealth health{[this] {
                               auto s = std::make_unique<objstore::testing::MemoryStore>();
                               probe_store = s.get();
                               return s;
                             }(),
                             std::chrono::seconds(3600), nullptr};
  // One thread here: the pool opens one store, and keeps it.
  std::unique_ptr<objstore::testing::MemoryStore> first = [] {
    auto s = std::make_unique<objstore::testing::MemoryStore>();
    s->part_bytes = 4;
    return s;
  }();
  detail::ObjectDestination destination{
      [this] {
        REQUIRE(first);
        return std::unique_ptr<objstore::ObjectStore>(std::move(first));
      },
      spool.path.string(), "123.abc", 1, &health};
  Fixture() { store = first.get(); }

  std::string stage(const std::string& name, const std::string& bytes) {
    const auto path = destination.staging_path(name);
    std::ofstream(path, std::ios::binary) << bytes;
    destination.sync_staged(name);
    return path;
  }
};

}  // namespace millrace::archive::testing
