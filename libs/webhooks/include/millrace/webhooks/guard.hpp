#pragma once

// The guard against server-side request forgery: a webhook URL is typed in
// by whoever registers it, and without a guard the service would post to
// whatever it names, the machine's own admin ports and the private network
// included. Requests to loopback, private, link-local and other non-public
// addresses are refused unless MILLRACE_WEBHOOKS_ALLOW_PRIVATE=true. The
// check runs on the address each connection actually opens (the HTTP
// client's refuse_address, libcurl's open-socket hook), so a name that resolves to a public address
// when registered and to a private one later (DNS rebinding) is refused too.

#include <optional>
#include <string>
#include <string_view>

struct sockaddr;

namespace millrace::webhooks {

// Why a connection to `address` (AF_INET or AF_INET6) is refused: the range
// it falls in, e.g. "127.0.0.0/8 (loopback)". nullopt for a public address.
// IPv4-mapped and NAT64 IPv6 addresses are judged by their IPv4 address.
std::optional<std::string> non_public_range(const sockaddr* address);
// The same for a numeric address ("10.1.2.3", "::1"); nullopt for a public
// one. Throws std::invalid_argument when `numeric` is not an address.
std::optional<std::string> non_public_range(const std::string& numeric);

struct EndpointUrl {
  std::string scheme;  // http or https
  std::string host;
};

// Parses `url` as the HTTP client reads it (http::parse_url): http or https, with a host, no user
// name or password (a secret belongs in the endpoint's secret, not its URL).
// Throws std::invalid_argument saying what is wrong.
EndpointUrl parse_endpoint_url(std::string_view url);

// For registration: the URL parses, its host resolves, and none of its
// addresses is refused (unless `allow_private`). Throws
// std::invalid_argument saying why not. Delivery checks again on every
// connection.
void check_endpoint_url(std::string_view url, bool allow_private);

}  // namespace millrace::webhooks
