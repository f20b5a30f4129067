#include "millrace/metrics/metrics.hpp"

#include <catch2/catch.hpp>
#include <regex>

using Catch::Matchers::Contains;
using millrace::metrics::Registry;

TEST_CASE("a registry exposes build info, process metrics and its own metrics") {
  Registry r("test-service");
  auto c = r.counter("millrace_things_total", "Things.", {{"topic", "t"}, {"partition", "1"}});
  c.inc();
  c.inc(2);
  CHECK(c.value() == 3);
  // The same name and labels give the same counter.
  CHECK(
      r.counter("millrace_things_total", "Things.", {{"topic", "t"}, {"partition", "1"}}).value() ==
      3);
  r.gauge("millrace_level", "Level.").set(7);
  r.histogram("millrace_wait_seconds", "Waits.", millrace::metrics::latency_buckets())
      .observe(0.003);
  r.computed_gauge("millrace_age_seconds", "Age.", [] {
    return std::vector<millrace::metrics::Sample>{{{{"partition", "0"}}, 42.0}};
  });

  const std::string text = r.scrape();
  CHECK_THAT(text, Contains("millrace_things_total{partition=\"1\",topic=\"t\"} 3"));
  CHECK_THAT(text, Contains("millrace_level 7"));
  CHECK_THAT(text, Contains("millrace_wait_seconds_bucket{le=\"0.005\"} 1"));
  CHECK_THAT(text, Contains("millrace_age_seconds{partition=\"0\"} 42"));
  // The commit built (cmake/revision.cmake), or "unknown" outside a checkout.
  CHECK(std::regex_search(
      text, std::regex("millrace_build_info\\{revision=\"([0-9a-f]{12}(-dirty)?|"
                       "unknown)\",service=\"test-service\",version=\"[^\"]+\"\\} 1")));
  CHECK_THAT(text, Contains("service=\"test-service\""));
  CHECK_THAT(text, Contains("process_resident_memory_bytes"));
  CHECK_THAT(text, Contains("process_cpu_seconds_total"));
  CHECK_THAT(text, Contains("process_open_fds"));
  CHECK_THAT(text, Contains("# TYPE process_start_time_seconds gauge"));
}
