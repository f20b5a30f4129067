// millrace grant and api grant: their flags (each refuses misuse before it
// connects) and what api grant reports.
#include "millrace/api/grant.hpp"

#include <catch2/catch.hpp>

#include "common.hpp"
#include "fakes.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using millrace::cli::testing::Harness;

TEST_CASE("grant needs at least one role, exit 2") {
  Harness h;
  CHECK(h.run({"grant"}) == 2);
  CHECK(h.err.str() ==
        "millrace grant: give at least one of --sink, --aggregator, ... ROLE\n"
        "Try 'millrace grant --help'.\n");
}

TEST_CASE("grant has a flag for each service with a role of its own") {
  Harness h;
  CHECK(h.run({"grant", "--help"}) == 0);
  for (const std::string flag : {"--sink", "--aggregator", "--webhooks", "--sql", "--kinds-dir"}) {
    CHECK_THAT(h.out.str(), Contains(flag));
  }
  Harness unknown;
  CHECK(unknown.run({"grant", "--producer-role", "x"}) == 2);
}

TEST_CASE("api grant needs a role, and two different ones, exit 2") {
  Harness none;
  CHECK(none.run({"api", "grant"}) == 2);
  CHECK_THAT(none.err.str(), StartsWith("millrace api grant: give --reader ROLE, --admin ROLE or "
                                        "both"));
  Harness same;
  CHECK(same.run({"api", "grant", "--reader", "r", "--admin", "r"}) == 2);
  CHECK_THAT(same.err.str(), Contains("--reader and --admin must be different roles"));
}

TEST_CASE("api grant reports the reader's relations, and the admin's with the webhook grants") {
  namespace api = millrace::api;
  const auto reader = millrace::cli::api_grant_report("shop", "r", "");
  CHECK(reader == "r: USAGE on schema shop; SELECT on " +
                      millrace::cli::join(api::reader_relations()) + "\n");
  const auto admin = millrace::cli::api_grant_report("shop", "", "a");
  CHECK_THAT(admin, StartsWith("a: USAGE on schema shop; SELECT, INSERT, UPDATE, DELETE on " +
                               millrace::cli::join(api::admin_relations()) + "; "));
  for (const auto& g : api::admin_webhook_grants()) {
    CHECK_THAT(admin, Contains("; " + g.privileges + " on " + g.relation));
  }
  CHECK_THAT(admin, Contains(" (and its id sequence)"));
  CHECK_THAT(admin, Contains("; EXECUTE on " + std::string(api::kRotateSecretFunction) + "\n"));
  CHECK(millrace::cli::api_grant_report("shop", "r", "a") == reader + admin);
  CHECK(millrace::cli::api_grant_report("shop", "", "").empty());
}
