#include "read_marks.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <stdexcept>
#include <vector>

using namespace millrace::webhooks::detail;

TEST_CASE("a partition is at its end only where this member read it that far") {
  // Partition 1 is empty but not this member's: it vouches for nothing there.
  const auto marks = marks_for({{0, 10}, {1, 0}, {2, 5}, {3, 7}}, {{0, 10}, {2, 4}, {3, 9}},
                               {{2, "0000000001A2B3C4-00000002"}});
  CHECK(marks ==
        std::vector<Mark>{
            {0, "", true}, {1, "", false}, {2, "0000000001A2B3C4-00000002", false}, {3, "", true}});
}

namespace {

// A topic of `partitions` partitions, each ending at 10 times its number
// plus 10; asking for more partitions than it has fails, as Kafka does.
struct FakeTopic {
  std::int32_t partitions = 4;
  std::vector<std::int32_t> asked;  // each ends_of() call's count
  std::map<std::int32_t, std::int64_t> ends_of(std::int32_t n) {
    asked.push_back(n);
    if (n > partitions) throw std::runtime_error("unknown partition");
    std::map<std::int32_t, std::int64_t> out;
    for (std::int32_t p = 0; p < n; ++p) out[p] = 10 * p + 10;
    return out;
  }
};

std::map<std::int32_t, std::int64_t> ask(FakeTopic& topic, std::int32_t& counted) {
  return ends_counted([&] { return topic.partitions; },
                      [&](std::int32_t n) { return topic.ends_of(n); }, counted);
}

}  // namespace

TEST_CASE("the ends cover every partition the count names, asked once while it holds") {
  FakeTopic topic;
  std::int32_t counted = 0;
  // First: nothing counted yet, so the ends wait for the count.
  CHECK(ask(topic, counted) ==
        std::map<std::int32_t, std::int64_t>{{0, 10}, {1, 20}, {2, 30}, {3, 40}});
  CHECK(counted == 4);
  CHECK(topic.asked == std::vector<std::int32_t>{4});
  // Then one request for the ends, beside the count.
  topic.asked.clear();
  CHECK(ask(topic, counted).size() == 4);
  CHECK(topic.asked == std::vector<std::int32_t>{4});
}

TEST_CASE("partitions added to the topic are in the ends from the next call") {
  FakeTopic topic;
  std::int32_t counted = 0;
  ask(topic, counted);
  topic.partitions = 6;
  topic.asked.clear();
  const auto ends = ask(topic, counted);
  CHECK(ends.size() == 6);
  CHECK(ends.at(5) == 60);
  CHECK(counted == 6);
  CHECK(topic.asked == std::vector<std::int32_t>{4, 6});
}

TEST_CASE("ends that fail are asked again when the count changed, and thrown when it did not") {
  FakeTopic topic;
  std::int32_t counted = 0;
  ask(topic, counted);
  // The topic made again with fewer partitions: the old count fails.
  topic.partitions = 2;
  CHECK(ask(topic, counted).size() == 2);
  CHECK(counted == 2);
  // The ends fail while the count holds: the failure is the caller's.
  std::int32_t stale = 2;
  CHECK_THROWS_WITH(ends_counted([] { return 2; },
                                 [](std::int32_t) -> std::map<std::int32_t, std::int64_t> {
                                   throw std::runtime_error("broker gone");
                                 },
                                 stale),
                    "broker gone");
}
