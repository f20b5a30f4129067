#include "millrace/core/outcome.hpp"

#include <catch2/catch.hpp>

TEST_CASE("outcome codes are the record_outcomes and metrics labels") {
  using millrace::core::Outcome;
  using millrace::core::outcome_code;
  CHECK(outcome_code(Outcome::kPersisted) == "persisted");
  CHECK(outcome_code(Outcome::kFiltered) == "filtered");
  CHECK(outcome_code(Outcome::kRejected) == "rejected");
  CHECK(outcome_code(Outcome::kDuplicate) == "duplicate");
  CHECK(outcome_code(Outcome::kLate) == "late");
  CHECK(outcome_code(Outcome::kLost) == "lost");
}
