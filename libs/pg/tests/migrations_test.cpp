#include <catch2/catch.hpp>
#include <set>
#include <stdexcept>

#include "millrace/pg/database.hpp"

namespace {
using millrace::core::FailureClass;
using millrace::pg::classify;
}  // namespace

TEST_CASE("migrations are embedded in strictly increasing version order") {
  const auto all = millrace::pg::migrations();
  REQUIRE_FALSE(all.empty());
  CHECK(all.front().version == 1);
  for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i].version > all[i - 1].version);
  CHECK(std::string(all.front().sql).find("CREATE TABLE store_events") != std::string::npos);
}

TEST_CASE("PostgreSQL failures are classified by SQLSTATE") {
  CHECK(classify(pqxx::broken_connection("gone")) == FailureClass::kRetryable);
  CHECK(classify(pqxx::in_doubt_error("commit unknown")) == FailureClass::kRetryable);
  CHECK(classify(pqxx::sql_error("shutdown", "q", "57P01")) == FailureClass::kRetryable);
  CHECK(classify(pqxx::sql_error("deadlock", "q", "40P01")) == FailureClass::kRetryable);
  CHECK(classify(pqxx::sql_error("disk full", "q", "53100")) == FailureClass::kRetryable);
  CHECK(classify(pqxx::sql_error("bad numeric", "q", "22P02")) == FailureClass::kPoison);
  CHECK(classify(pqxx::sql_error("not null", "q", "23502")) == FailureClass::kPoison);
  CHECK(classify(pqxx::sql_error("index row too large", "q", "54000")) == FailureClass::kPoison);
  CHECK(classify(pqxx::sql_error("lock timeout", "q", "55P03")) == FailureClass::kRetryable);
  CHECK(classify(pqxx::sql_error("statement timeout", "q", "57014")) == FailureClass::kRetryable);
  CHECK(classify(pqxx::sql_error("no table", "q", "42P01")) == FailureClass::kFatal);
  CHECK(classify(pqxx::sql_error("denied", "q", "42501")) == FailureClass::kFatal);
  // As libpqxx 6.4 throws it: without the SQLSTATE.
  CHECK(classify(pqxx::insufficient_privilege("permission denied for table store_events")) ==
        FailureClass::kFatal);
  CHECK(classify(std::logic_error("bug")) == FailureClass::kFatal);
}
