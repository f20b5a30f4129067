// The settings of webhooks, each declared once (core::declare): --help,
// --check-config, the SIGHUP marks and docs/configuration.md are made from
// these declarations, in this order.

#include "millrace/core/options.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/stream/consumer.hpp"
#include "millrace/webhooks/config.hpp"

namespace millrace::webhooks {

void register_options(core::OptionSet& o, WebhooksConfig& c) {
  stream::register_options(o, c.stream);
  core::declare(o, &c.workers,
                {.flag = "workers",
                 .env = "MILLRACE_WEBHOOKS_WORKERS",
                 .help = "Delivery workers: endpoints served at once (each endpoint's queue is "
                         "served by one worker at a time, in order)",
                 .min = 1,
                 .max = 256});
  core::declare(o, &c.timeout_ms,
                {.flag = "timeout-ms",
                 .env = "MILLRACE_WEBHOOKS_TIMEOUT_MS",
                 .help = "Give up on a request after this long (a failed attempt)",
                 .min = 100,
                 .max = 600'000,
                 .unit = core::DurationUnit::kMilliseconds});
  core::declare(
      o, &c.retry_schedule,
      {.flag = "retry-schedule",
       .env = "MILLRACE_WEBHOOKS_RETRY_SCHEDULE",
       .help = "Waits before each retry of a failed delivery, comma-separated (ms, s, m, h, d), "
               "each with 20% jitter; after the last the delivery is kept as failed",
       .reload = [&c] {
         // Validated by the re-read that changed it, so parse_schedule takes it.
         c.reloaded_schedule.set(parse_schedule(c.retry_schedule));
       }});
  add_allow_private(o, &c.allow_private);
  core::declare(o, &c.poll_ms,
                {.flag = "poll-ms",
                 .env = "MILLRACE_WEBHOOKS_POLL_MS",
                 .help = "An idle worker looks for due deliveries this often (new ones wake it at "
                         "once through a NOTIFY; this is for retries that come due)",
                 .min = 10,
                 .max = 600'000,
                 .unit = core::DurationUnit::kMilliseconds});
  core::declare(o, &c.max_per_claim,
                {.flag = "max-per-claim",
                 .env = "MILLRACE_WEBHOOKS_MAX_PER_CLAIM",
                 .help = "Deliveries a worker sends from one endpoint's queue before it looks at "
                         "the others (only while no other worker is idle to take them)",
                 .min = 1,
                 .max = 10'000});
  core::declare(
      o, &c.cloudevents_source,
      {.flag = "cloudevents-source",
       .env = "MILLRACE_WEBHOOKS_CLOUDEVENTS_SOURCE",
       .help = "CloudEvents source of a change, before \"/<schema.table>\" (empty: /millrace/<the "
               "database of --pg>; set it when the change feed reads another database)"});
  core::declare(
      o, &c.keep_delivered_h,
      {.flag = "keep-delivered-h",
       .env = "MILLRACE_WEBHOOKS_KEEP_DELIVERED_H",
       .help = "Keep delivered rows this long (failed and pending ones stay until handled)",
       .min = 1,
       .max = 87'600,
       .unit = core::DurationUnit::kHours});
  core::declare(
      o, &c.direct_ms,
      {.flag = "direct-ms",
       .env = "MILLRACE_WEBHOOKS_DIRECT_MS",
       .help = "The consumer sends a batch's deliveries itself, in the batch's transaction, to "
               "endpoints with nothing pending, no rate limit and no worker on them, for up to "
               "this long a batch (each request cut at it); the rest is enqueued for the "
               "workers. Twice this plus a second must stay under --pg-lock-timeout-ms and "
               "--pg-idle-in-transaction-timeout-ms. 0: every delivery goes through the queue",
       .min = 0,
       .max = 2000,
       .unit = core::DurationUnit::kMilliseconds});
}

}  // namespace millrace::webhooks
