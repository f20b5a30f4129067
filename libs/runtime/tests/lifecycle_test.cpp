#include "millrace/runtime/lifecycle.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "millrace/runtime/failure.hpp"

using millrace::runtime::FailureLatch;
using millrace::runtime::Lifecycle;

namespace {

struct Part {
  Part(std::string n, std::vector<std::string>& log, bool throws = false)
      : name(std::move(n)), log(log), throws(throws) {}
  ~Part() { log.push_back("~" + name); }
  void start() {
    if (throws) throw std::runtime_error(name + " cannot start");
    log.push_back("start " + name);
  }
  void stop() { log.push_back("stop " + name); }
  std::string name;
  std::vector<std::string>& log;
  bool throws;
};

// A part that ends by itself.
struct Failing {
  bool failed() const { return true; }
  void rethrow_failure() { throw std::runtime_error("broken"); }
};

}  // namespace

TEST_CASE("parts start in order, stop in reverse, once, and are destroyed last to first",
          "[lifecycle]") {
  std::vector<std::string> log;
  {
    Lifecycle parts;
    parts.keep(std::string("a configuration"));
    parts.add(std::make_unique<Part>("a", log));
    parts.add(std::make_unique<Part>("b", log));
    parts.start();
    parts.stop();
    parts.stop();
  }
  CHECK(log == std::vector<std::string>{"start a", "start b", "stop b", "stop a", "~b", "~a"});
}

TEST_CASE("a part that cannot start stops those started before it", "[lifecycle]") {
  std::vector<std::string> log;
  Lifecycle parts;
  parts.add(std::make_unique<Part>("a", log));
  parts.add(std::make_unique<Part>("b", log, true));
  parts.add(std::make_unique<Part>("c", log));
  CHECK_THROWS_WITH(parts.start(), "b cannot start");
  CHECK(log == std::vector<std::string>{"start a", "stop a"});
  parts.stop();
  CHECK(log.size() == 2);
}

TEST_CASE("a failed part is reported and rethrown", "[lifecycle]") {
  std::vector<std::string> log;
  Lifecycle parts;
  parts.add(std::make_unique<Part>("a", log));
  CHECK_FALSE(parts.failed());
  CHECK_NOTHROW(parts.rethrow_failure());
  parts.add(std::make_unique<Failing>());
  CHECK(parts.failed());
  CHECK_THROWS_WITH(parts.rethrow_failure(), "broken");
}

TEST_CASE("the first failure is kept", "[failure]") {
  FailureLatch latch;
  CHECK_FALSE(latch.wait(std::chrono::milliseconds(0)));
  CHECK_NOTHROW(latch.rethrow());
  CHECK(latch.fail("the listener died"));
  CHECK_FALSE(latch.fail("a later failure"));
  CHECK(latch.failed());
  CHECK(latch.wait(std::chrono::milliseconds(0)));
  CHECK_THROWS_WITH(latch.rethrow(), "the listener died");
}
