#pragma once

#include <cstdint>
#include <string>

#include "millrace/core/options.hpp"
#include "millrace/runtime/reloaded.hpp"
#include "millrace/stream/consumer.hpp"
#include "millrace/webhooks/schedule.hpp"
#include "millrace/webhooks/settings.hpp"

namespace millrace::webhooks {

// Everything millrace-webhooks can be told: its own settings, declared in
// libs/webhooks/src/settings.cpp (their values in WebhooksSettings: workers,
// timeout, retry schedule, polling, claims, CloudEvents' source, how long
// delivered rows are kept), and the components' below.
struct WebhooksConfig : WebhooksSettings {
  // Reading the change topic: the shared consumer settings.
  stream::StreamConfig stream = [] {
    auto c = stream::service_defaults("webhooks", "millrace.changes", kafka::kChangesTopic);
    // Changes are small and a webhook's latency starts at their commit.
    c.batch_size = 2000;
    c.batch_ms = 50;
    // ...so a batch is enqueued as soon as nothing more is at hand.
    c.close_when_idle = true;
    return c;
  }();
  // Shared with the API and the CLI (add_allow_private).
  bool allow_private = false;

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
