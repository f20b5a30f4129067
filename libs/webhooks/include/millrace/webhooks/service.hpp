#pragma once

#include <memory>

#include "millrace/metrics/metrics.hpp"
#include "millrace/stream/service.hpp"
#include "millrace/webhooks/config.hpp"

namespace millrace::webhooks {

// millrace-webhooks: a consumer group member on the change topic that
// enqueues a delivery per change and matching endpoint (in the transaction
// of its offsets), and delivery workers that send them, signed, in order
// per endpoint (commit order, or key order where an endpoint asks), with
// retries. docs/exactly-once.md, "Webhooks".
//
// Its stop() stops the workers after their request in flight, then the
// consumer (its batch committed); its wait() ends when the consumer or a
// worker ends on a fatal error.
std::unique_ptr<stream::ConsumerService> make_webhooks(WebhooksConfig config,
                                                       metrics::Registry& metrics);

}  // namespace millrace::webhooks
