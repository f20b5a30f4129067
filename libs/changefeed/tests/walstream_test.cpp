#include "millrace/changefeed/walstream.hpp"

#include <catch2/catch.hpp>

#include "bytes.hpp"
#include "millrace/changefeed/pgoutput.hpp"

using namespace millrace::changefeed;
using Catch::Matchers::Contains;
using millrace::changefeed::testing::Bytes;

TEST_CASE("XLogData carries the WAL positions, the server clock and one pgoutput message") {
  Bytes b;
  b.ch('w').i64(0x1000).i64(0x2000).i64(777).raw("B...payload");
  const auto m = std::get<XLogData>(parse_server_message(b));
  CHECK(m.wal_start == 0x1000);
  CHECK(m.wal_end == 0x2000);
  CHECK(m.server_time_pg_us == 777);
  CHECK(m.data == "B...payload");
}

TEST_CASE("a keepalive says whether the server wants an answer now") {
  for (const bool reply : {false, true}) {
    Bytes b;
    b.ch('k').i64(0xABCDEF).i64(-5LL).i8(reply ? 1 : 0);
    const auto k = std::get<Keepalive>(parse_server_message(b));
    CHECK(k.wal_end == 0xABCDEF);
    CHECK(k.server_time_pg_us == -5);
    CHECK(k.reply_requested == reply);
  }
}

TEST_CASE("anything else from the server is refused with where it broke") {
  CHECK_THROWS_WITH(parse_server_message(""), Contains("truncated"));
  CHECK_THROWS_WITH(parse_server_message("x"), Contains("unknown message type 'x'"));
  Bytes short_keepalive;
  short_keepalive.ch('k').i64(1);
  CHECK_THROWS_AS(parse_server_message(short_keepalive), DecodeError);
  Bytes long_keepalive;
  long_keepalive.ch('k').i64(1).i64(2).i8(0).i8(0);
  CHECK_THROWS_WITH(parse_server_message(long_keepalive), Contains("trailing"));
  Bytes short_xlog;
  short_xlog.ch('w').i64(1).i64(2);
  CHECK_THROWS_AS(parse_server_message(short_xlog), DecodeError);
}

TEST_CASE("a standby status update is 'r', three positions, the clock and the reply flag") {
  const auto m = standby_status_update(0x10, 0x20, 0x30, 0x0102030405060708LL, true);
  Bytes want;
  want.ch('r').i64(0x10).i64(0x20).i64(0x30).i64(0x0102030405060708ULL).i8(1);
  CHECK(m == want.str());
  CHECK(standby_status_update(0, 0, 0, 0, false).size() == 34);
}
