#pragma once

// Waking the delivery workers when deliveries are enqueued, instead of
// leaving them to find out at their next poll: the enqueuing transaction
// sends a NOTIFY with its read marks (read_marks.cpp), which PostgreSQL
// delivers at its commit, once per transaction, to every replica's
// listener. Polling stays, for retries that come due and for any wake-up
// lost while a listener reconnects.

#include <atomic>
#include <functional>
#include <pqxx/pqxx>
#include <string_view>

#include "millrace/pg/options.hpp"

namespace millrace::webhooks::detail {

// The payload is the schema, so deployments sharing a database wake only
// their own workers.
inline constexpr std::string_view kWakeChannel = "millrace_webhooks";

// On a connection of its own: LISTENs, calls `listening` once it does (a
// wake-up may have been missed before), then `wake` for each notification
// about `options.schema`, until `stopping`. Throws core::InfraError:
// retryable when the connection is lost.
void listen_for_wakeups(const pg::PgOptions& options, const std::atomic<bool>& stopping,
                        const std::function<void()>& listening, const std::function<void()>& wake);

}  // namespace millrace::webhooks::detail
