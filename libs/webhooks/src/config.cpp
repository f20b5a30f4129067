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
  try {
    c.schedule = parse_schedule(c.retry_schedule);
  } catch (const std::invalid_argument& e) {
    throw core::UsageError(std::string("--retry-schedule / MILLRACE_WEBHOOKS_RETRY_SCHEDULE: ") +
                           e.what());
  }
}

}  // namespace millrace::webhooks
