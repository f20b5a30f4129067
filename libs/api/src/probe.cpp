#include "probe.hpp"

#include "millrace/httpd/http_metrics.hpp"
#include "millrace/metrics/family.hpp"

namespace millrace::api {

// The API's own metric families (metrics/family.hpp), in the order of their
// table in docs/api.md; its requests' are every HTTP service's
// (httpd/http_metrics.hpp).
const metrics::Family kApiDatabaseErrors(
    {.name = "millrace_api_database_errors_total",
     .type = metrics::Type::kCounter,
     .help = "Requests the database could not answer, by failure class: `retryable` "
             "(answered 503), `poison` and `fatal` (500)",
     .labels = {"class"},
     .group = "api"});
const metrics::Family kApiRequestsShed(
    {.name = "millrace_api_requests_shed_total",
     .type = metrics::Type::kCounter,
     .help = "Requests answered 503 `busy` at once because every worker was busy and "
             "MILLRACE_API_QUEUE_MAX requests were already waiting",
     .group = "api"});
const metrics::Family kApiQueuedRequests({.name = "millrace_api_queued_requests",
                                          .type = metrics::Type::kGauge,
                                          .help = "Requests waiting for a database worker",
                                          .group = "api"});
const metrics::Family kApiReady(
    {.name = "millrace_api_ready",
     .type = metrics::Type::kGauge,
     .help = "1 when the database answered the last readiness check, else 0",
     .group = "api"});

namespace {

metrics::Counter database_counter(metrics::Registry& r, core::FailureClass c) {
  return kApiDatabaseErrors.counter(r, {{"class", std::string(core::to_string(c))}});
}

}  // namespace

ApiProbe::ApiProbe(metrics::Registry& registry)
    : registry_(registry),
      database_errors_{database_counter(registry, core::FailureClass::kRetryable),
                       database_counter(registry, core::FailureClass::kPoison),
                       database_counter(registry, core::FailureClass::kFatal)},
      shed_(kApiRequestsShed.counter(registry)) {
  for (std::size_t r = 0; r < kRouteCount; ++r) {
    duration_[r] =
        httpd::kHttpRequestDuration.histogram(registry_, {{"route", std::string(kRouteNames[r])}});
  }
}

void ApiProbe::register_gauges(std::function<double()> queued, std::function<bool()> ready) {
  kApiQueuedRequests.computed_gauge(registry_,
                                    [queued = std::move(queued)]() -> std::vector<metrics::Sample> {
                                      return {{{}, queued()}};
                                    });
  kApiReady.computed_gauge(registry_, [ready = std::move(ready)]() -> std::vector<metrics::Sample> {
    return {{{}, ready() ? 1.0 : 0.0}};
  });
}

void ApiProbe::answered(Route route, int status, std::chrono::steady_clock::duration took) {
  duration_[route]->observe(std::chrono::duration<double>(took).count());
  std::lock_guard lock(requests_mutex_);
  auto it = requests_.find({route, status});
  if (it == requests_.end()) {
    it = requests_
             .emplace(std::pair(route, status),
                      httpd::kHttpRequests.counter(registry_,
                                                   {{"route", std::string(kRouteNames[route])},
                                                    {"status", std::to_string(status)}}))
             .first;
  }
  it->second.inc();
}

void ApiProbe::database_error(core::FailureClass c) {
  database_errors_[static_cast<std::size_t>(c)].inc();
}

void ApiProbe::shed() {
  shed_.inc();
}

}  // namespace millrace::api
