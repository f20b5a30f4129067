#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "handles.hpp"

using millrace::core::FailureClass;
using millrace::core::InfraError;
using namespace millrace::redis;

namespace {

// The reply hiredis' own reader makes of RESP bytes, as a Client receives
// them from a server.
Reply parsed(const std::string& resp) {
  std::unique_ptr<redisReader, decltype(&redisReaderFree)> reader(redisReaderCreate(),
                                                                  &redisReaderFree);
  REQUIRE(reader);
  REQUIRE(redisReaderFeed(reader.get(), resp.data(), resp.size()) == REDIS_OK);
  void* raw = nullptr;
  REQUIRE(redisReaderGetReply(reader.get(), &raw) == REDIS_OK);
  REQUIRE(raw != nullptr);
  const detail::ReplyPtr reply(static_cast<redisReply*>(raw));
  return detail::to_reply(*reply);
}

}  // namespace

TEST_CASE("hiredis replies are copied into values of the same type") {
  CHECK(parsed("+OK\r\n") == Reply::status("OK"));
  CHECK(parsed(":42\r\n") == Reply::integer(42));
  CHECK(parsed(":-7\r\n") == Reply::integer(-7));
  CHECK(parsed("$5\r\nhello\r\n") == Reply::string("hello"));
  CHECK(parsed("$0\r\n\r\n") == Reply::string(""));
  CHECK(parsed("$-1\r\n") == Reply::nil());
  CHECK(parsed("*-1\r\n") == Reply::nil());
  CHECK(parsed("-NOSCRIPT No matching script. Please use EVAL.\r\n") ==
        Reply::error("NOSCRIPT No matching script. Please use EVAL."));
  CHECK(parsed("*0\r\n") == Reply::array({}));
}

TEST_CASE("strings keep their bytes, NULs included") {
  const Reply r = parsed(std::string("$3\r\na\0b\r\n", 9));
  REQUIRE(r.type() == Reply::Type::kString);
  CHECK(r.as_string() == std::string("a\0b", 3));
}

TEST_CASE("nested arrays are copied element by element") {
  const Reply r = parsed("*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n-ERR inner\r\n");
  REQUIRE(r.type() == Reply::Type::kArray);
  REQUIRE(r.elements().size() == 3);
  CHECK(r.elements()[0].as_integer() == 1);
  CHECK(r.elements()[1] == Reply::array({Reply::string("a"), Reply::nil()}));
  CHECK(r.elements()[2].is_error());
  CHECK(r.describe() == R"([1, ["a", (nil)], (error) ERR inner])");
}

TEST_CASE("reading a reply as the wrong type is a fatal error that shows the reply") {
  const Reply error = Reply::error("WRONGTYPE Operation against a key holding the wrong kind");
  try {
    (void)error.as_integer();
    FAIL("no exception");
  } catch (const InfraError& e) {
    CHECK(e.failure_class() == FailureClass::kFatal);
    CHECK_THAT(e.what(), Catch::Contains("expected an integer") && Catch::Contains("WRONGTYPE"));
  }
  CHECK_THROWS_AS(Reply::integer(1).as_string(), InfraError);
  CHECK_THROWS_AS(Reply::nil().as_string(), InfraError);
  CHECK_THROWS_AS(Reply::string("x").elements(), InfraError);
  CHECK(error.as_string().starts_with("WRONGTYPE"));
  CHECK(Reply::status("OK").as_string() == "OK");
  // A long value is cut short in the message.
  try {
    (void)Reply::string(std::string(100'000, 'x')).as_integer();
    FAIL("no exception");
  } catch (const InfraError& e) {
    CHECK(std::strlen(e.what()) < 300);
  }
}

TEST_CASE("error replies of passing server states are retryable, others fatal") {
  for (const char* retryable :
       {"LOADING Redis is loading the dataset in memory", "BUSY Redis is busy running a script",
        "OOM command not allowed when used memory > 'maxmemory'.",
        "READONLY You can't write against a read only replica.", "TRYAGAIN Multiple keys",
        "MASTERDOWN Link with MASTER is down", "CLUSTERDOWN The cluster is down",
        "NOREPLICAS Not enough good replicas to write."}) {
    INFO(retryable);
    CHECK(classify_error_reply(retryable) == FailureClass::kRetryable);
  }
  for (const char* fatal :
       {"ERR user_script:1: Script attempted to access nonexistent global variable 'x'",
        "WRONGTYPE Operation against a key holding the wrong kind of value",
        "ERR wrong number of arguments for 'get' command", "NOSCRIPT No matching script.",
        "BUSYKEY Target key name already exists.", "LOADINGX", ""}) {
    INFO(fatal);
    CHECK(classify_error_reply(fatal) == FailureClass::kFatal);
  }
}

TEST_CASE("connection errors are retryable, a server that does not speak Redis is fatal") {
  CHECK(detail::classify_context_error(REDIS_ERR_IO) == FailureClass::kRetryable);
  CHECK(detail::classify_context_error(REDIS_ERR_EOF) == FailureClass::kRetryable);
  CHECK(detail::classify_context_error(REDIS_ERR_OTHER) == FailureClass::kRetryable);
  CHECK(detail::classify_context_error(REDIS_ERR_PROTOCOL) == FailureClass::kFatal);
  CHECK(detail::classify_context_error(REDIS_ERR_OOM) == FailureClass::kFatal);
}

TEST_CASE("a read timeout is named as one") {
  redisContext context{};
  context.err = REDIS_ERR_IO;
  std::strncpy(context.errstr, std::strerror(EAGAIN), sizeof context.errstr - 1);
  CHECK_THAT(detail::context_error(context), Catch::StartsWith("timed out"));
  std::strncpy(context.errstr, "Connection refused", sizeof context.errstr - 1);
  CHECK(detail::context_error(context) == "Connection refused");
}
