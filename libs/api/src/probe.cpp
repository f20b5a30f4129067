#include "probe.hpp"

namespace millrace::api {

namespace {

metrics::Counter database_counter(metrics::Registry& r, core::FailureClass c) {
  return r.counter("millrace_api_database_errors_total",
                   "Requests the database could not answer, by failure class (retryable: "
                   "answered 503; poison, fatal: 500).",
                   {{"class", std::string(core::to_string(c))}});
}

}  // namespace

ApiProbe::ApiProbe(metrics::Registry& registry)
    : registry_(registry),
      database_errors_{database_counter(registry, core::FailureClass::kRetryable),
                       database_counter(registry, core::FailureClass::kPoison),
                       database_counter(registry, core::FailureClass::kFatal)},
      shed_(registry.counter("millrace_api_requests_shed_total",
                             "Requests answered 503 at once because every worker was busy and "
                             "MILLRACE_API_QUEUE_MAX requests were already waiting.")) {
  // Buckets from 100 us: most reads are a few milliseconds.
  const std::vector<double> buckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                       0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                       1,      2.5,     5,      10,    30};
  for (std::size_t r = 0; r < kRouteCount; ++r) {
    duration_[r] = registry_.histogram(
        "millrace_http_request_duration_seconds",
        "Time from reading a request's headers to writing its response, by route.", buckets,
        {{"route", std::string(kRouteNames[r])}});
  }
}

void ApiProbe::register_gauges(std::function<double()> queued, std::function<bool()> ready) {
  registry_.computed_gauge("millrace_api_queued_requests",
                           "Requests waiting for a database worker.",
                           [queued = std::move(queued)]() -> std::vector<metrics::Sample> {
                             return {{{}, queued()}};
                           });
  registry_.computed_gauge("millrace_api_ready",
                           "1 when the database answered the last readiness check, else 0.",
                           [ready = std::move(ready)]() -> std::vector<metrics::Sample> {
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
                      registry_.counter("millrace_http_requests_total",
                                        "HTTP requests answered, by route and status.",
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
