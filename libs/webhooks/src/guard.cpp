#include "millrace/webhooks/guard.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "millrace/http/url.hpp"

namespace millrace::webhooks {

namespace {

struct V4Range {
  std::uint32_t base;
  int bits;
  const char* name;
};

constexpr std::uint32_t ip(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

// RFC 6890's special-purpose ranges that are not globally reachable.
constexpr std::array<V4Range, 12> kV4 = {{
    {ip(0, 0, 0, 0), 8, "0.0.0.0/8 (this network)"},
    {ip(10, 0, 0, 0), 8, "10.0.0.0/8 (private)"},
    {ip(100, 64, 0, 0), 10, "100.64.0.0/10 (carrier-grade NAT)"},
    {ip(127, 0, 0, 0), 8, "127.0.0.0/8 (loopback)"},
    {ip(169, 254, 0, 0), 16, "169.254.0.0/16 (link-local, cloud metadata)"},
    {ip(172, 16, 0, 0), 12, "172.16.0.0/12 (private)"},
    {ip(192, 0, 0, 0), 24, "192.0.0.0/24 (IETF protocol assignments)"},
    {ip(192, 168, 0, 0), 16, "192.168.0.0/16 (private)"},
    {ip(198, 18, 0, 0), 15, "198.18.0.0/15 (benchmarking)"},
    {ip(224, 0, 0, 0), 4, "224.0.0.0/4 (multicast)"},
    {ip(240, 0, 0, 0), 4, "240.0.0.0/4 (reserved, broadcast)"},
    {ip(192, 88, 99, 0), 24, "192.88.99.0/24 (6to4 relay)"},
}};

std::optional<std::string> v4_range(std::uint32_t address) {
  for (const auto& r : kV4) {
    const std::uint32_t mask = r.bits == 0 ? 0 : ~std::uint32_t{0} << (32 - r.bits);
    if ((address & mask) == (r.base & mask)) return std::string(r.name);
  }
  return std::nullopt;
}

std::optional<std::string> v6_range(const in6_addr& a) {
  const auto* b = a.s6_addr;
  const auto embedded_v4 = [&](int at) {
    return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
           (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
  };
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr unsigned char kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, kMapped, 12) == 0 || std::memcmp(b, kNat64, 12) == 0) {
    return v4_range(embedded_v4(12));
  }
  if (IN6_IS_ADDR_UNSPECIFIED(&a)) return "::/128 (unspecified)";
  if (IN6_IS_ADDR_LOOPBACK(&a)) return "::1/128 (loopback)";
  if ((b[0] & 0xfe) == 0xfc) return "fc00::/7 (unique local)";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "fe80::/10 (link-local)";
  if (b[0] == 0xff) return "ff00::/8 (multicast)";
  bool low_zero = true;  // ::/96, the old IPv4-compatible form
  for (int i = 0; i < 12; ++i) low_zero = low_zero && b[i] == 0;
  if (low_zero) return "::/96 (IPv4-compatible, deprecated)";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> non_public_range(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    return v4_range(ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    return v6_range(reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr);
  }
  return "address family " + std::to_string(address->sa_family) + " (not IP)";
}

std::optional<std::string> non_public_range(const std::string& numeric) {
  in_addr v4{};
  if (inet_pton(AF_INET, numeric.c_str(), &v4) == 1) return v4_range(ntohl(v4.s_addr));
  in6_addr v6{};
  if (inet_pton(AF_INET6, numeric.c_str(), &v6) == 1) return v6_range(v6);
  throw std::invalid_argument("\"" + numeric + "\" is not an IP address");
}

EndpointUrl parse_endpoint_url(std::string_view text) {
  const std::string s(text);
  const auto parts = http::parse_url(s);
  EndpointUrl out{parts.scheme, parts.host};
  if (out.scheme != "http" && out.scheme != "https") {
    throw std::invalid_argument("\"" + s + "\": a webhook URL is http:// or https://");
  }
  if (out.host.empty()) throw std::invalid_argument("\"" + s + "\" names no host");
  if (parts.credentials) {
    throw std::invalid_argument("\"" + s +
                                "\" carries a user name or password: receivers authenticate "
                                "requests by their signature, leave credentials out of the URL");
  }
  if (out.host.size() > 2 && out.host.front() == '[')
    out.host = out.host.substr(1, out.host.size() - 2);
  return out;
}

void check_endpoint_url(std::string_view text, bool allow_private) {
  const auto url = parse_endpoint_url(text);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(url.host.c_str(), nullptr, &hints, &found); rc != 0) {
    throw std::invalid_argument("the host " + url.host + " does not resolve: " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(found, &freeaddrinfo);
  if (allow_private) return;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (const auto range = non_public_range(a->ai_addr)) {
      throw std::invalid_argument("the host " + url.host + " resolves to an address in " + *range +
                                  ": webhooks are only sent to public addresses unless "
                                  "MILLRACE_WEBHOOKS_ALLOW_PRIVATE=true");
    }
  }
}

}  // namespace millrace::webhooks
