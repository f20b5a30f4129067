#pragma once

// The JSON of millrace-api's /v1/webhooks/endpoints (docs/api.md,
// proto/openapi.yaml): request bodies read into admin.hpp's structs, and its
// records written out. Pure. Only the JSON is checked here (the members and
// their types); what a value means (the URL, the operations, the format, the
// filter's rules, the secret) is checked by admin.hpp's functions.
//
// Secrets are written only where an operation made one: secret_json().

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/webhooks/admin.hpp"

namespace millrace::webhooks {

// A body refused for its JSON: not JSON at all, not an object, an unknown or
// repeated member, a member of the wrong type.
class InvalidBody : public std::invalid_argument {
 public:
  InvalidBody(std::string member, const std::string& message, bool malformed = false)
      : std::invalid_argument(message), member_(std::move(member)), malformed_(malformed) {}
  // The member at fault ("rate_limit"); empty when it is the body as a whole.
  const std::string& member() const { return member_; }
  // The body is not JSON (rather than JSON of another shape).
  bool malformed() const { return malformed_; }

 private:
  std::string member_;
  bool malformed_ = false;
};

// How long a rotated-out secret still signs when no overlap is given (as
// `millrace webhooks rotate-secret`), and the most it may.
inline constexpr std::chrono::seconds kDefaultSecretOverlap{24 * 3600};
inline constexpr std::chrono::seconds kMaxSecretOverlap{30 * 24 * 3600};

// POST's body: {"url", "description", "tables": [..], "ops": [..],
// "ordering", "format", "filter": {..} or null, "rate_limit" (a number >= 0,
// deliveries per second; 0 no limit), "disable_after_seconds" (a whole
// number >= 0; 0 never), "secret"}; only url is required. The filter is kept
// as its compact JSON text, numbers with the digits sent. Throws InvalidBody.
NewEndpoint new_endpoint_from_json(std::string_view body);
// PATCH's body: the members of POST's but secret, each one given changing
// it; "filter": null removes the filter. Throws InvalidBody.
EndpointChange endpoint_change_from_json(std::string_view body);

// The optional bodies (an empty body takes the defaults); each throws
// InvalidBody.
struct SecretRotation {
  std::chrono::seconds overlap = kDefaultSecretOverlap;
  std::string secret;  // empty: a new one
};
// {"overlap_seconds": 0 to kMaxSecretOverlap, "secret": "whsec_..."}.
SecretRotation rotation_from_json(std::string_view body);
// {"reason": "..."}: empty when none is given.
std::string disable_reason_from_json(std::string_view body);
// {"since": "<RFC 3339>"}: the text as given (the caller checks the time).
std::optional<std::string> replay_since_from_json(std::string_view body);

// {"id", "url", "description", "tables", "ops", "ordering", "format",
// "filter" (the object, or null), "rate_limit", "disable_after_seconds",
// "active", "disabled_reason", "disabled_at", "failing_since", "created_at",
// "previous_secret_valid", "pending", "failed", "filtered"}; times are
// RFC 3339 or null, as is a reason not given.
std::string endpoint_json(const Endpoint& endpoint);
// {"endpoints": [..]}.
std::string endpoints_json(const std::vector<Endpoint>& endpoints);
// {"endpoint": {..}, "secret": "whsec_..."}: after a secret was made (a new
// endpoint, a rotation); without "secret" when `secret` is empty (the client
// chose it and has it).
std::string secret_json(const Endpoint& endpoint, const std::string& secret);
// {"deliveries": [{"id", "endpoint", "change_id", "status", "attempts",
// "enqueued_at", "next_attempt_at", "last_attempt_at", "last_status",
// "last_error", "delivered_at"}..], "next_before"}: next_before is the id to
// ask `before` for the next page with, null on the last page.
std::string deliveries_json(const std::vector<DeliveryRecord>& deliveries,
                            std::optional<std::int64_t> next_before = std::nullopt);
// {"replayed": n}.
std::string replayed_json(std::int64_t replayed);

}  // namespace millrace::webhooks
