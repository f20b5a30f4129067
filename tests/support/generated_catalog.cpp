#include "generated_catalog.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "harness.hpp"

namespace millrace::testing {

namespace {

// `millrace <args>` on `p`'s schema, which must succeed.
void require_cli(const Pipeline& p, const std::string& args) {
  std::string out;
  const int rc = run_shell("MILLRACE_PG='" + p.env.pg + "' MILLRACE_PG_SCHEMA='" + p.schema + "' " +
                               bin("millrace") + " " + args,
                           &out);
  INFO("millrace " << args << ": " << out);
  REQUIRE(rc == 0);
}

}  // namespace

void migrate_with_generated_catalog(const Pipeline& p) {
  require_cli(p, "migrate");
  const std::string categories = p.log_dir + "/" + p.schema + ".categories.csv";
  const std::string products = p.log_dir + "/" + p.schema + ".products.ndjson";
  require_cli(p, "generate --catalog categories --format csv > " + categories);
  require_cli(p, "generate --catalog products > " + products);
  require_cli(p, "catalog load " + categories);
  require_cli(p, "catalog load " + products);
}

}  // namespace millrace::testing
