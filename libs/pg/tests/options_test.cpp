#include "millrace/pg/options.hpp"

#include <catch2/catch.hpp>

#include "millrace/core/failure.hpp"
#include "millrace/core/parse_config.hpp"

using namespace millrace;
using Catch::Matchers::Contains;

namespace {

pg::PgOptions parse(std::map<std::string, std::string> env, std::vector<std::string> args) {
  return core::parse_config<pg::PgOptions>(env, args);
}

}  // namespace

TEST_CASE("the shared PostgreSQL options: defaults bound every session") {
  const auto d = parse({}, {});
  CHECK(d.url == "postgresql://millrace:millrace@127.0.0.1:5432/millrace");
  CHECK(d.schema == "public");
  CHECK(d.limits.statement_timeout_ms > 0);
  // A lock wait gives up before PostgreSQL ends a frozen holder's session.
  CHECK(d.limits.lock_timeout_ms < d.limits.idle_in_transaction_timeout_ms);
  CHECK(d.limits.tcp_user_timeout_ms > 0);
  CHECK(d.limits.connect_timeout_s > 0);
  // A migration's session keeps the connection bounds only.
  const auto m = d.connect_limits();
  CHECK(m.statement_timeout_ms == 0);
  CHECK(m.lock_timeout_ms == 0);
  CHECK(m.idle_in_transaction_timeout_ms == 0);
  CHECK(m.tcp_user_timeout_ms == d.limits.tcp_user_timeout_ms);
  CHECK(m.connect_timeout_s == d.limits.connect_timeout_s);
}

TEST_CASE("the shared PostgreSQL options: environment, flags and errors name the setting") {
  const auto e = parse({{"MILLRACE_PG", "host=db"}, {"MILLRACE_PG_LOCK_TIMEOUT_MS", "100"}},
                       {"--pg-schema", "s1", "--pg-statement-timeout-ms", "0"});
  CHECK(e.url == "host=db");
  CHECK(e.schema == "s1");
  CHECK(e.limits.lock_timeout_ms == 100);
  CHECK(e.limits.statement_timeout_ms == 0);
  CHECK_THROWS_WITH(parse({{"MILLRACE_PG", ""}}, {}), Contains("MILLRACE_PG"));
  CHECK_THROWS_WITH(parse({}, {"--pg-schema", ""}), Contains("MILLRACE_PG_SCHEMA"));
  CHECK_THROWS_WITH(parse({}, {"--pg-tcp-user-timeout-ms", "10"}),
                    Contains("--pg-tcp-user-timeout-ms"));
}

namespace {

struct ServicePg {
  pg::PgOptions pg;
};
void register_options(core::OptionSet& o, ServicePg& s) {
  pg::register_service_options(o, s.pg, "api", "MILLRACE_API_PG_DSN");
}
void validate(ServicePg&) {}

}  // namespace

TEST_CASE("a service's own variable, then its old one, then the shared MILLRACE_PG") {
  CHECK(pg::service_env("api-admin", "PG") == "MILLRACE_API_ADMIN_PG");
  const auto shared = core::parse_config<ServicePg>({{"MILLRACE_PG", "host=shared"}}, {});
  CHECK(shared.pg.url == "host=shared");
  const auto old = core::parse_config<ServicePg>(
      {{"MILLRACE_PG", "host=shared"}, {"MILLRACE_API_PG_DSN", "host=old"}}, {});
  CHECK(old.pg.url == "host=old");
  const auto own = core::parse_config<ServicePg>({{"MILLRACE_PG", "host=shared"},
                                                  {"MILLRACE_API_PG_DSN", "host=old"},
                                                  {"MILLRACE_API_PG", "host=own"}},
                                                 {});
  CHECK(own.pg.url == "host=own");
  const auto flag =
      core::parse_config<ServicePg>({{"MILLRACE_API_PG", "host=own"}}, {"--pg", "host=flag"});
  CHECK(flag.pg.url == "host=flag");
}
