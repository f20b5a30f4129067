#pragma once

#include <cstdint>
#include <string>

#include "millrace/core/options.hpp"
#include "millrace/runtime/reloaded.hpp"
#include "millrace/stream/consumer.hpp"
#include "millrace/webhooks/schedule.hpp"

namespace millrace::webhooks {

// Everything millrace-webhooks can be told. Member initialisers are the
// defaults; register_options() holds the flags, variables and help.
struct WebhooksConfig {
  // Reading the change topic: the shared consumer settings.
  stream::StreamConfig stream = [] {
    auto c = stream::service_defaults("webhooks");
    c.kafka.topic = "millrace.changes";
    c.topic_option = kafka::kChangesTopic;
    // Changes are small and a webhook's latency starts at their commit.
    c.batch_size = 2000;
    c.batch_ms = 50;
    // ...so a batch is enqueued as soon as nothing more is at hand.
    c.close_when_idle = true;
    return c;
  }();
  // Delivering: workers (each one endpoint's queue at a time), the request
  // timeout and the retry schedule.
  std::int64_t workers = 4;
  std::int64_t timeout_ms = 15000;
  std::string retry_schedule = std::string(kDefaultSchedule);
  bool allow_private = false;
  std::int64_t poll_ms = 1000;
  std::int64_t max_per_claim = 100;
  std::int64_t keep_delivered_h = 168;
  // CloudEvents' source is this, "/", and the change's table; empty:
  // "/millrace/<the database>".
  std::string cloudevents_source;

  RetrySchedule schedule;  // derived by validate()
  // The schedule as SIGHUP last set it (register_options marks
  // --retry-schedule reloadable): a worker takes it before each claim, for
  // the failures it records from then on.
  runtime::Reloaded<RetrySchedule> reloaded_schedule;
};

// --allow-private (MILLRACE_WEBHOOKS_ALLOW_PRIVATE), declared once for
// every program that takes webhook URLs: the service delivering to them,
// the API and `millrace webhooks add|update` registering them. `flag`: the
// API's is --allow-private-webhooks, as its own --allow-* are about reads.
void add_allow_private(core::OptionSet& options, bool* allow, std::string flag = "allow-private");

void register_options(core::OptionSet& options, WebhooksConfig& config);
// Throws core::UsageError naming the setting.
void validate(WebhooksConfig& config);

}  // namespace millrace::webhooks
