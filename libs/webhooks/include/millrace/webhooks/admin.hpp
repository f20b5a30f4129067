#pragma once

// What `millrace webhooks ...` does in PostgreSQL. Each function runs in a
// transaction of its own on `connection` (search_path set to the schema)
// and throws std::invalid_argument for a request that cannot be done (an
// unknown endpoint, a bad URL), with a message for the operator.

#include <chrono>
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace millrace::webhooks {

struct NewEndpoint {
  std::string url;
  std::string description;
  std::vector<std::string> tables;  // empty: every table
  std::vector<std::string> ops;     // empty: every operation (c, u, d, r, t)
  std::string secret;               // empty: a new one
  // "commit": every change in the order PostgreSQL committed it, across
  // keys (each waits until no earlier change can still be enqueued);
  // "key": in the order read, which is commit order within each row's key.
  std::string ordering = "commit";
};

struct AddedEndpoint {
  std::int64_t id = 0;
  std::string secret;
};

// Checks the URL (guard.hpp: it must parse, resolve, and be public unless
// `allow_private`), the operations and the secret, then registers it.
AddedEndpoint add_endpoint(pqxx::connection& connection, const NewEndpoint& endpoint,
                           bool allow_private);

// One line per endpoint: id, state, queue counts, filters, URL.
std::string list_endpoints(pqxx::connection& connection);

// Disables (deliveries keep being enqueued, and wait) or enables it.
void set_active(pqxx::connection& connection, std::int64_t endpoint, bool active,
                const std::string& reason);

// A new secret becomes the one requests are signed with; the current one
// stays valid beside it for `overlap`, so receivers can switch without a
// rejected request. Returns the new secret.
std::string rotate_secret(pqxx::connection& connection, std::int64_t endpoint,
                          std::chrono::seconds overlap, const std::string& secret = "");

// Deliveries, newest first: all of an endpoint's, or only failed ones.
std::string list_deliveries(pqxx::connection& connection, std::optional<std::int64_t> endpoint,
                            bool failed_only, std::int64_t limit);

// Failed deliveries of an endpoint (enqueued at or after `since`, an
// RFC 3339 time, when given) go back to its queue with a fresh schedule.
// Returns how many.
std::int64_t replay_failed(pqxx::connection& connection, std::int64_t endpoint,
                           const std::optional<std::string>& since);

}  // namespace millrace::webhooks
