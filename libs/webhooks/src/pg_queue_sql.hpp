#pragma once

// The statements of the queue in PostgreSQL (pg_queue.hpp) as SQL text, and
// the names PgQueue::connection prepares them under, once per session:
// PostgreSQL planned the claim's first statement in longer than it ran it
// (1.2 ms against 0.5 on an idle machine), on every claim, while the next
// delivery waited. Their parameters and what each does: pg_queue_sql.cpp.

#include <string>

namespace millrace::webhooks::detail::queue_sql {

// Claims the queue due the longest that no other worker holds.
inline constexpr const char* kClaim = "webhooks_claim";
std::string claim_sql();

// A claim's deliveries.
inline constexpr const char* kCommitOrderDeliveries = "webhooks_commit_order_deliveries";
inline constexpr const char* kKeyOrderDeliveries = "webhooks_key_order_deliveries";
std::string deliveries_sql(bool commit_order);

// The claim's lease extended, or the queue given up (`release`).
const char* hold_name(bool release);
std::string hold_sql(bool release);

// The same, and the deliveries stored with it.
const char* hold_and_deliver_name(bool release);
std::string hold_and_deliver_sql(bool release);

// A claim's deliveries stored, and the endpoint's next ones read.
const char* continue_name(bool commit_order);
std::string continue_sql(bool commit_order);

// Deliveries set delivered.
inline constexpr const char* kSetDelivered = "webhooks_set_delivered";
std::string set_delivered_sql(int n, const std::string& also_from);

}  // namespace millrace::webhooks::detail::queue_sql
