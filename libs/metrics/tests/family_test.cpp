#include "millrace/metrics/family.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

#include "millrace/metrics/metrics.hpp"

using namespace millrace;
using Catch::Matchers::Contains;

namespace {

const metrics::Family kRequests({.name = "millrace_test_requests_total",
                                 .type = metrics::Type::kCounter,
                                 .help = "Requests, by route and status",
                                 .labels = {"route", "status"},
                                 .group = "test"});
const metrics::Family kWait({.name = "millrace_test_wait_seconds",
                             .type = metrics::Type::kHistogram,
                             .help = "Time waited",
                             .buckets = {0.5, 1},
                             .group = "test"});

}  // namespace

TEST_CASE("a declared family is in the catalog, listed in its declaration's order") {
  const std::string ref = metrics::catalog_reference();
  CHECK_THAT(ref, Contains("millrace_test_requests_total\tcounter\troute,status\t\ttest\t"
                           "Requests, by route and status\n"
                           "millrace_test_wait_seconds\thistogram\t\t0.5,1\ttest\tTime waited\n"));
}

TEST_CASE("a family registers with its declared type and labels, and only so") {
  metrics::Registry r("test");
  kRequests.counter(r, {{"status", "200"}, {"route", "/x"}}).inc();
  kWait.histogram(r).observe(0.7);
  const std::string scrape = r.scrape();
  CHECK_THAT(scrape, Contains("# HELP millrace_test_requests_total Requests, by route and status"));
  CHECK_THAT(scrape, Contains("millrace_test_requests_total{route=\"/x\",status=\"200\"} 1"));
  CHECK_THAT(scrape, Contains("millrace_test_wait_seconds_bucket{le=\"1\"} 1"));
  CHECK_THROWS_WITH(kRequests.counter(r, {{"route", "/x"}}),
                    Contains("has the labels route,status, registered with route"));
  CHECK_THROWS_WITH(kRequests.gauge(r, {{"status", "200"}, {"route", "/x"}}),
                    Contains("is a counter, registered as a gauge"));
}

TEST_CASE("a family declared without its help, or twice differently, is refused") {
  CHECK_THROWS_AS(metrics::Family({.name = "millrace_test_x", .group = "test"}), std::logic_error);
  CHECK_THROWS_AS(metrics::Family({.name = "millrace_test_y",
                                   .type = metrics::Type::kGauge,
                                   .help = "y",
                                   .buckets = {1},
                                   .group = "test"}),
                  std::logic_error);
  CHECK_THROWS_WITH(metrics::Family({.name = "millrace_test_wait_seconds",
                                     .type = metrics::Type::kGauge,
                                     .help = "Another",
                                     .group = "test"}),
                    Contains("declared twice, differently"));
}
