#include "millrace/changefeed/lsn.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

using namespace millrace::changefeed;

TEST_CASE("LSNs print and parse in PostgreSQL's two-halves form") {
  CHECK(format_lsn(0) == "0/0");
  CHECK(format_lsn(0x16B374D848ULL) == "16/B374D848");
  CHECK(format_lsn(0xFFFFFFFFFFFFFFFFULL) == "FFFFFFFF/FFFFFFFF");
  CHECK(parse_lsn("16/B374D848") == 0x16B374D848ULL);
  CHECK(parse_lsn("16/b374d848") == 0x16B374D848ULL);
  CHECK(parse_lsn("0/0") == 0u);
  for (const Lsn lsn : {Lsn{1}, Lsn{0x100000000ULL}, Lsn{0xDEADBEEFCAFEULL}}) {
    CHECK(parse_lsn(format_lsn(lsn)) == lsn);
  }
  // printf's "%X/%X", which it replaces, for halves of every length.
  for (Lsn hi = 1; hi != 0; hi <<= 3) {
    for (const Lsn lsn : {hi, hi - 1, Lsn{hi * 0x9E3779B97F4A7C15ULL}, Lsn{(hi << 32) | 0xF0U}}) {
      char printed[20];
      std::snprintf(printed, sizeof printed, "%X/%X", static_cast<unsigned>(lsn >> 32),
                    static_cast<unsigned>(lsn & 0xFFFFFFFFu));
      CHECK(format_lsn(lsn) == printed);
      std::string appended = "at ";
      append_lsn(appended, lsn);
      CHECK(appended == std::string("at ") + printed);
    }
  }
  for (const char* bad : {"", "/", "16", "16/", "/1", "1/2/3", "G/1", "123456789/0", "+1/0", "-1/0",
                          " 1/0", "1/0 "}) {
    INFO(bad);
    CHECK_FALSE(parse_lsn(bad).has_value());
  }
}

TEST_CASE("PostgreSQL's timestamps count from 2000-01-01") {
  CHECK(unix_us_from_pg(0) == 946'684'800'000'000);  // 2000-01-01T00:00:00Z
  CHECK(pg_us_from_unix(unix_us_from_pg(12345)) == 12345);
  // Saturated at the limits rather than overflowing (PostgreSQL's infinity is INT64_MAX).
  CHECK(unix_us_from_pg(INT64_MAX) == INT64_MAX);
  CHECK(unix_us_from_pg(INT64_MAX - 946'684'800'000'000) == INT64_MAX);
  CHECK(pg_us_from_unix(INT64_MIN) == INT64_MIN);
}
