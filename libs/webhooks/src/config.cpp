#include "millrace/webhooks/config.hpp"

#include <stdexcept>
#include <utility>

namespace millrace::webhooks {

void add_allow_private(core::OptionSet& o, bool* allow, std::string flag) {
  o.add_bool(std::move(flag), "MILLRACE_WEBHOOKS_ALLOW_PRIVATE", allow,
             "Allow webhook URLs on loopback, private and link-local addresses, registered and "
             "delivered to (refused otherwise, against server-side request forgery)");
}

void register_options(core::OptionSet& o, WebhooksConfig& c) {
  stream::register_options(o, c.stream);
  o.add_int("workers", "MILLRACE_WEBHOOKS_WORKERS", &c.workers,
            "Delivery workers: endpoints served at once (each endpoint's queue is served by one "
            "worker at a time, in order)",
            1, 256);
  o.add_duration("timeout-ms", "MILLRACE_WEBHOOKS_TIMEOUT_MS", &c.timeout_ms,
                 core::OptionSet::DurationUnit::kMilliseconds,
                 "Give up on a request after this long (a failed attempt)", 100, 600'000);
  o.add_string("retry-schedule", "MILLRACE_WEBHOOKS_RETRY_SCHEDULE", &c.retry_schedule,
               "Waits before each retry of a failed delivery, comma-separated (ms, s, m, h, d), "
               "each with 20% jitter; after the last the delivery is kept as failed");
  // Validated by the re-read that changed it, so parse_schedule takes it.
  o.reloadable("retry-schedule",
               [&c] { c.reloaded_schedule.set(parse_schedule(c.retry_schedule)); });
  add_allow_private(o, &c.allow_private);
  o.add_duration("poll-ms", "MILLRACE_WEBHOOKS_POLL_MS", &c.poll_ms,
                 core::OptionSet::DurationUnit::kMilliseconds,
                 "An idle worker looks for due deliveries this often (new ones wake it at once "
                 "through a NOTIFY; this is for retries that come due)",
                 10, 600'000);
  o.add_int("max-per-claim", "MILLRACE_WEBHOOKS_MAX_PER_CLAIM", &c.max_per_claim,
            "Deliveries a worker sends from one endpoint's queue before it looks at the others", 1,
            10'000);
  o.add_string("cloudevents-source", "MILLRACE_WEBHOOKS_CLOUDEVENTS_SOURCE", &c.cloudevents_source,
               "CloudEvents source of a change, before \"/<schema.table>\" (empty: "
               "/millrace/<the database of --pg>; set it when the change feed reads another "
               "database)");
  o.add_duration("keep-delivered-h", "MILLRACE_WEBHOOKS_KEEP_DELIVERED_H", &c.keep_delivered_h,
                 core::OptionSet::DurationUnit::kHours,
                 "Keep delivered rows this long (failed and pending ones stay until handled)", 1,
                 24 * 3650);
}

void validate(WebhooksConfig& c) {
  stream::validate(c.stream);
  // The change topic is written in transactions, so this consumer reads
  // committed, and such a fetch waits on the broker for fetch.wait.max.ms
  // (500 ms by default) even when records became readable meanwhile: that
  // wait would be added to each delivery. An operator's value still wins.
  c.stream.kafka.extra.try_emplace("fetch.wait.max.ms", "20");
  if (!c.cloudevents_source.empty() && c.cloudevents_source.back() == '/') {
    throw core::UsageError(
        "--cloudevents-source / MILLRACE_WEBHOOKS_CLOUDEVENTS_SOURCE: leave out the trailing "
        "\"/\" (the table follows one)");
  }
  try {
    c.schedule = parse_schedule(c.retry_schedule);
  } catch (const std::invalid_argument& e) {
    throw core::UsageError(std::string("--retry-schedule / MILLRACE_WEBHOOKS_RETRY_SCHEDULE: ") +
                           e.what());
  }
}

}  // namespace millrace::webhooks
