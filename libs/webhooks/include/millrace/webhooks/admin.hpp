#pragma once

// What `millrace webhooks ...` and millrace-api's /v1/webhooks/endpoints do
// in PostgreSQL. Each function runs in a transaction of its own on
// `connection` (search_path set to the schema) and throws
// std::invalid_argument for a request that cannot be done (an unknown
// endpoint, a bad URL, a filter Event Grid would refuse), with a message for
// the operator; NotFound (a std::invalid_argument) when the endpoint is not
// there.

#include <chrono>
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::webhooks {

// How a delivery is put on the wire (docs/webhooks.md):
//   standard:               Standard Webhooks' JSON body;
//   cloudevents-structured: a CloudEvents 1.0 event as the body
//                           (application/cloudevents+json);
//   cloudevents-binary:     the change as the body, its attributes in ce-*
//                           headers.
// Every format is signed with the Standard Webhooks headers.
inline constexpr std::string_view kFormats[] = {"standard", "cloudevents-structured",
                                                "cloudevents-binary"};

// Svix's default: an endpoint whose deliveries have failed for five days is
// disabled.
inline constexpr std::int64_t kDefaultDisableAfterS = 5 * 24 * 3600;

struct NewEndpoint {
  std::string url;
  std::string description;
  std::vector<std::string> tables;  // empty: every table
  std::vector<std::string> ops;     // empty: every operation (c, u, d, r, t, e, g)
  std::string secret;               // empty: a new one
  // "commit": every change in the order PostgreSQL committed it, across
  // keys (each waits until no earlier change can still be enqueued);
  // "key": in the order read, which is commit order within each row's key.
  std::string ordering = "commit";
  std::string format = "standard";  // one of kFormats
  // An Event Grid subscription's filter object (filter.hpp), as JSON; empty:
  // none.
  std::string filter;
  double rate_limit = 0;  // deliveries per second at most; 0: no limit
  // Disabled once its deliveries have failed for this long with none
  // delivered in between; 0: never.
  std::int64_t disable_after_s = kDefaultDisableAfterS;
};

// An update: what is set changes, the rest stays.
struct EndpointChange {
  std::optional<std::string> url;
  std::optional<std::string> description;
  std::optional<std::vector<std::string>> tables;  // empty: every table
  std::optional<std::vector<std::string>> ops;     // empty: every operation
  std::optional<std::string> ordering;
  std::optional<std::string> format;
  std::optional<std::string> filter;  // empty: no filter
  std::optional<double> rate_limit;   // 0: no limit
  std::optional<std::int64_t> disable_after_s;
};

class NotFound : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct AddedEndpoint {
  std::int64_t id = 0;
  std::string secret;
};

// One endpoint as stored, with its queue's counts. Times are RFC 3339 UTC,
// empty when not set. The secret is not read.
struct Endpoint {
  std::int64_t id = 0;
  std::string url;
  std::string description;
  std::vector<std::string> tables;  // empty: every table
  std::vector<std::string> ops;     // empty: every operation
  std::string ordering;
  std::string format;
  std::string filter;  // the stored filter's JSON; empty: none
  double rate_limit = 0;
  std::int64_t disable_after_s = 0;
  bool active = true;
  std::string disabled_reason;
  std::string disabled_at;
  std::string failing_since;  // the first failure since the last delivery
  std::string created_at;
  bool previous_secret_valid = false;  // a rotation's old secret still signs too
  std::int64_t pending = 0;
  std::int64_t failed = 0;
  std::int64_t filtered = 0;  // changes read that its filters left out
};

struct DeliveryRecord {
  std::int64_t id = 0;
  std::int64_t endpoint = 0;
  std::string change_id;
  std::string status;  // pending, delivered, failed
  std::int64_t attempts = 0;
  std::string enqueued_at;
  std::string next_attempt_at;  // pending only
  std::string last_attempt_at;
  std::optional<int> last_status;
  std::string last_error;
  std::string delivered_at;
};

// Checks the URL (guard.hpp: it must parse, resolve, and be public unless
// `allow_private`), the operations, ordering, format, filter and secret,
// then registers it.
AddedEndpoint add_endpoint(pqxx::connection& connection, const NewEndpoint& endpoint,
                           bool allow_private);

// Applies `change` with the checks add_endpoint makes. Pending deliveries
// go out in the new format and at the new rate; a new filter applies to the
// changes enqueued after it.
void update_endpoint(pqxx::connection& connection, std::int64_t endpoint,
                     const EndpointChange& change, bool allow_private);

// Every endpoint in id order, or the one asked for (NotFound when none).
std::vector<Endpoint> read_endpoints(pqxx::connection& connection,
                                     std::optional<std::int64_t> endpoint = std::nullopt);

// One line per endpoint: id, state, queue counts, filters, URL.
std::string list_endpoints(pqxx::connection& connection);

// Disables (deliveries keep being enqueued, and wait) or enables it.
// Enabling also starts its failure clock again.
void set_active(pqxx::connection& connection, std::int64_t endpoint, bool active,
                const std::string& reason);

// A new secret becomes the one requests are signed with; the current one
// stays valid beside it for `overlap`, so receivers can switch without a
// rejected request. Returns the new secret.
std::string rotate_secret(pqxx::connection& connection, std::int64_t endpoint,
                          std::chrono::seconds overlap, const std::string& secret = "");

// Deliveries, newest first: all of an endpoint's (every endpoint's when
// none), or only failed ones; with `before`, only those with a smaller id
// (the next page).
std::vector<DeliveryRecord> read_deliveries(pqxx::connection& connection,
                                            std::optional<std::int64_t> endpoint, bool failed_only,
                                            std::int64_t limit,
                                            std::optional<std::int64_t> before = std::nullopt);
std::string list_deliveries(pqxx::connection& connection, std::optional<std::int64_t> endpoint,
                            bool failed_only, std::int64_t limit);

// Failed deliveries of an endpoint (enqueued at or after `since`, an
// RFC 3339 time, when given) go back to its queue with a fresh schedule.
// Returns how many.
std::int64_t replay_failed(pqxx::connection& connection, std::int64_t endpoint,
                           const std::optional<std::string>& since);

}  // namespace millrace::webhooks
