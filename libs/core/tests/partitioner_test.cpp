#include "millrace/core/partitioner.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <stdexcept>
#include <string_view>

#include "millrace/core/store_message.hpp"

using namespace millrace::core;

TEST_CASE("store_hash is FNV-1a 64 over the little-endian int32, pinned", "[partitioner]") {
  // Values computed independently from the published algorithm; producers in
  // other languages must reproduce exactly these.
  CHECK(store_hash(0) == 5558979605539197941ULL);
  CHECK(store_hash(1) == 12478008331234465636ULL);
  CHECK(store_hash(5) == 3260635086596433184ULL);
  CHECK(store_hash(17) == 12454013162367492212ULL);
  CHECK(store_hash(1000) == 3434534542295815964ULL);
  CHECK(store_hash(-1) == 11047178588169845073ULL);
  CHECK(store_hash(2147483647) == 11047037850681434065ULL);
}

TEST_CASE("partition_for, pinned", "[partitioner]") {
  CHECK(partition_for(EventType::kInventory, 0, 16) == 10);
  CHECK(partition_for(EventType::kSale, 0, 16) == 11);
  CHECK(partition_for(EventType::kInventory, 1, 16) == 8);
  CHECK(partition_for(EventType::kSale, 17, 12) == 5);
  CHECK(partition_for(EventType::kInventory, 1000, 12) == 4);
  CHECK(partition_for(EventType::kSale, 5, 12) == 9);
  CHECK(partition_for(EventType::kInventory, -1, 8) == 2);
  CHECK(partition_for(EventType::kSale, 2147483647, 4) == 3);
}

TEST_CASE("partition_for_bytes, pinned", "[partitioner]") {
  constexpr std::string_view abc = "abc";
  CHECK(partition_for_bytes(abc.data(), abc.size(), 12) == 3);
  constexpr std::string_view hello = "hello";
  CHECK(partition_for_bytes(hello.data(), hello.size(), 7) == 5);
  CHECK(partition_for_bytes(nullptr, 0, 5) ==
        static_cast<std::int32_t>(14695981039346656037ULL % 5));
  CHECK(partition_for_bytes(abc.data(), abc.size(), 1) == 0);
  CHECK_THROWS_AS(partition_for_bytes(abc.data(), abc.size(), 0), std::invalid_argument);
  for (std::int32_t p = 1; p <= 9; ++p) {
    const auto part = partition_for_bytes(hello.data(), hello.size(), p);
    CHECK(part >= 0);
    CHECK(part < p);
  }
}

TEST_CASE("inventory goes to even partitions, sale to odd ones", "[partitioner]") {
  for (const std::int32_t p : {2, 4, 8, 16}) {
    for (std::int32_t store = -50; store <= 1000; ++store) {
      const auto inventory = partition_for(EventType::kInventory, store, p);
      const auto sale = partition_for(EventType::kSale, store, p);
      REQUIRE(inventory % 2 == 0);
      REQUIRE(sale % 2 == 1);
      REQUIRE(inventory >= 0);
      REQUIRE(sale < p);
      // One store's two types sit side by side: same slot within each parity.
      REQUIRE(sale == inventory + 1);
    }
  }
}

TEST_CASE("a store's partition is stable", "[partitioner]") {
  for (std::int32_t store = 1; store <= 100; ++store) {
    CHECK(partition_for(EventType::kSale, store, 16) == partition_for(EventType::kSale, store, 16));
  }
}

TEST_CASE("stores spread over every partition of a parity", "[partitioner]") {
  for (const std::int32_t p : {2, 4, 6, 8, 16, 32, 64}) {
    std::set<std::int32_t> even, odd;
    for (std::int32_t store = 1; store <= 1000; ++store) {
      even.insert(partition_for(EventType::kInventory, store, p));
      odd.insert(partition_for(EventType::kSale, store, p));
    }
    CHECK(even.size() == static_cast<std::size_t>(p / 2));
    CHECK(odd.size() == static_cast<std::size_t>(p / 2));
  }
}

TEST_CASE("odd, zero or negative partition counts throw", "[partitioner]") {
  for (const std::int32_t p : {-2, -1, 0, 1, 3, 5, 15}) {
    INFO("partitions: " << p);
    CHECK_THROWS_AS(partition_for(EventType::kSale, 1, p), std::invalid_argument);
  }
}

TEST_CASE("require_even_partitions names the topic when the count is unusable", "[partitioner]") {
  CHECK_NOTHROW(require_even_partitions("t", 2));
  CHECK_NOTHROW(require_even_partitions("t", 12));
  for (const std::int32_t p : {-2, 0, 1, 3}) {
    INFO("partitions: " << p);
    CHECK_THROWS_WITH(require_even_partitions("store-events", p),
                      Catch::Contains("store-events") && Catch::Contains("even number"));
  }
}

TEST_CASE("store-event messages: the key and headers every producer sends", "[partitioner]") {
  CHECK(StoreKey(0).view() == "0");
  CHECK(StoreKey(5).view() == "5");
  CHECK(StoreKey(2147483647).view() == "2147483647");
  CHECK(StoreKey(-2147483647 - 1).view() == "-2147483648");

  const EventHeaders sale("sale_event", true);
  REQUIRE(sale.view().size() == 2);
  CHECK(sale.view()[0].key == "event_type");
  CHECK(sale.view()[0].value == "sale_event");
  CHECK(sale.view()[1].key == "priority_shipping");
  CHECK(sale.view()[1].value == "true");
  const EventHeaders untyped(std::nullopt, false);
  REQUIRE(untyped.view().size() == 1);
  CHECK(untyped.view()[0].key == "priority_shipping");
  CHECK(untyped.view()[0].value == "false");
}
