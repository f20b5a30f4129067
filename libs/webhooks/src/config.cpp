#include "millrace/webhooks/config.hpp"

#include <stdexcept>
#include <utility>

#include "millrace/core/setting.hpp"

namespace millrace::webhooks {

void add_allow_private(core::OptionSet& o, bool* allow, std::string flag) {
  core::declare(
      o, allow,
      {.flag = std::move(flag),
       .env = "MILLRACE_WEBHOOKS_ALLOW_PRIVATE",
       .help = "Allow webhook URLs on loopback, private and link-local addresses, registered and "
               "delivered to (refused otherwise, against server-side request forgery)"});
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
  // A batch's transaction waits on its sends for up to about twice the
  // budget (the last request starts before it runs out and is cut at it),
  // and its statements need time too: a second is left for them.
  const auto& limits = c.stream.pg.limits;
  for (const auto& [bound, name] :
       {std::pair{limits.lock_timeout_ms, "--pg-lock-timeout-ms"},
        std::pair{limits.idle_in_transaction_timeout_ms, "--pg-idle-in-transaction-timeout-ms"}}) {
    if (c.direct_ms > 0 && bound > 0 && 2 * c.direct_ms + 1000 >= bound) {
      throw core::UsageError(
          "--direct-ms / MILLRACE_WEBHOOKS_DIRECT_MS: " + std::to_string(c.direct_ms) +
          " ms is too long for " + name + " (" + std::to_string(bound) +
          " ms): a batch's transaction may wait twice the budget on its "
          "sends; set it below half of that, or 0");
    }
  }
  try {
    c.schedule = parse_schedule(c.retry_schedule);
  } catch (const std::invalid_argument& e) {
    throw core::UsageError(std::string("--retry-schedule / MILLRACE_WEBHOOKS_RETRY_SCHEDULE: ") +
                           e.what());
  }
}

}  // namespace millrace::webhooks
