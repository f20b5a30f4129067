#include <catch2/catch.hpp>

#include "millrace/pg/database.hpp"

using millrace::pg::bounded_conninfo;
using millrace::pg::SessionLimits;

TEST_CASE("session limits become libpq parameters of a URI or a key=value conninfo") {
  SessionLimits limits;
  limits.connect_timeout_s = 10;
  limits.tcp_user_timeout_ms = 9000;
  CHECK(bounded_conninfo("postgresql://u:p@h:5432/db", limits) ==
        "postgresql://u:p@h:5432/db?connect_timeout=10&tcp_user_timeout=9000&keepalives=1&"
        "keepalives_idle=3&keepalives_interval=3&keepalives_count=2");
  CHECK(bounded_conninfo("postgresql://h/db?sslmode=require", limits) ==
        "postgresql://h/db?sslmode=require&connect_timeout=10&tcp_user_timeout=9000&"
        "keepalives=1&keepalives_idle=3&keepalives_interval=3&keepalives_count=2");
  CHECK(bounded_conninfo("host=h dbname=db", limits) ==
        "host=h dbname=db connect_timeout=10 tcp_user_timeout=9000 keepalives=1 "
        "keepalives_idle=3 keepalives_interval=3 keepalives_count=2");
}

TEST_CASE("a parameter the conninfo sets is left as the operator set it") {
  SessionLimits limits;
  limits.connect_timeout_s = 10;
  limits.tcp_user_timeout_ms = 9000;
  const auto out = bounded_conninfo("host=h keepalives_idle=60 connect_timeout=3", limits);
  CHECK(out.find("connect_timeout=10") == std::string::npos);
  CHECK(out.find("keepalives_idle=3") == std::string::npos);
  // keepalives_idle does not count as keepalives.
  CHECK(out.find(" keepalives=1") != std::string::npos);
  CHECK(bounded_conninfo("postgresql://h/db?tcp_user_timeout=1", limits)
            .find("tcp_user_timeout=9000") == std::string::npos);
}

TEST_CASE("no limits leave the conninfo unchanged") {
  CHECK(bounded_conninfo("postgresql://h/db", {}) == "postgresql://h/db");
  CHECK(bounded_conninfo("host=h", {}) == "host=h");
}
