#pragma once

// millrace-api's routes, each declared once: its path, and for each method
// it allows who may call it, whether it takes a JSON body, and the handler
// that answers it. Everything else is read from here: the matching, the
// 404 and the 405 with its Allow header, the screening of tokens and
// bodies (router.cpp), the metrics' route label (kRouteNames), and the
// check that proto/openapi.yaml documents exactly these operations
// (tests/routes_test.cpp).

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>

#include "handlers.hpp"
#include "router.hpp"

namespace millrace::api {

enum class Access : std::uint8_t {
  kOpen,
  // The read token, the admin token or a session cookie, when a read token
  // is set (RouterSettings::read_token); else open.
  kReader,
  // The admin token, with an admin connection configured.
  kAdmin,
};

enum class Body : std::uint8_t {
  kNone,  // whatever is sent is not read
  // Refused 415 before it is read unless it is application/json.
  kJson,
  // As kJson when there is one (or a Content-Type); a request without a
  // body and without a Content-Type takes the operation's defaults.
  kOptionalJson,
};

struct Operation {
  std::string_view method;  // empty: no more operations
  Access access = Access::kOpen;
  Handler handler = nullptr;
  Body body = Body::kNone;
};

enum class Taken : std::uint8_t {
  // The handler gets the request as it came: no key decoding, query
  // parameters or content negotiation.
  kAsIs,
  // The key is percent-decoded (400), the view it names resolved (404), the
  // query parameters read (400; none unless the view takes some), the admin
  // token checked, and, but for DELETE, the representation negotiated
  // (406), in that order.
  kResource,
};

inline constexpr std::size_t kMaxOperations = 3;

struct RouteSpec {
  Route route;
  // The OpenAPI path template. At most one segment may be a parameter,
  // "{name}" (it matches one segment, not empty), and only fixed segments
  // may follow it ("/v1/webhooks/endpoints/{id}/disable").
  std::string_view pattern;
  Taken taken = Taken::kResource;
  Resolve resolve = nullptr;  // null: no view, so no query parameter and JSON only
  // In the order the Allow header lists them.
  std::array<Operation, kMaxOperations> operations{};

  constexpr bool keyed() const { return pattern.find('{') != std::string_view::npos; }
  // What a path starts with: all of it unless keyed.
  constexpr std::string_view prefix() const { return pattern.substr(0, pattern.find('{')); }
  // What a keyed path ends with, after its parameter: empty, or "/disable".
  constexpr std::string_view suffix() const {
    return keyed() ? pattern.substr(pattern.find('}') + 1) : std::string_view();
  }
  // The parameter, braces included: "{id}".
  constexpr std::string_view parameter() const {
    return pattern.substr(prefix().size(), pattern.size() - prefix().size() - suffix().size());
  }
  // Whether `path` is this route's: nullopt if not, else its parameter's
  // segment (still percent-encoded; empty unless keyed).
  constexpr std::optional<std::string_view> key_of(std::string_view path) const {
    if (!keyed()) return path == pattern ? std::optional(std::string_view()) : std::nullopt;
    const std::string_view before = prefix(), after = suffix();
    if (path.size() <= before.size() + after.size() || !path.starts_with(before) ||
        !path.ends_with(after)) {
      return std::nullopt;
    }
    const std::string_view key =
        path.substr(before.size(), path.size() - before.size() - after.size());
    if (key.find('/') != std::string_view::npos) return std::nullopt;
    return key;
  }
};

namespace detail {

// One route, its operations in the order the Allow header lists them.
constexpr RouteSpec declare(Route route, std::string_view pattern, Taken taken, Resolve resolve,
                            std::initializer_list<Operation> operations) {
  if (operations.size() > kMaxOperations) throw "more operations than kMaxOperations";
  RouteSpec spec{route, pattern, taken, resolve, {}};
  std::size_t i = 0;
  for (const Operation& op : operations) spec.operations[i++] = op;
  return spec;
}

using catalog::Table;
using enum Access;
using enum Taken;
using namespace handlers;
inline constexpr Body kJsonBody = Body::kJson;
inline constexpr Body kOptionalJsonBody = Body::kOptionalJson;

inline constexpr std::array<RouteSpec, kRouteOther> kRoutes = {
    declare(kRouteViews, "/v1/views", kResource, nullptr, {{"GET", kReader, list_views}}),
    declare(kRouteView, "/v1/views/{name}", kResource, named_view, {{"GET", kReader, read_rows}}),
    declare(kRouteOpenApi, "/v1/openapi.yaml", kAsIs, nullptr, {{"GET", kReader, openapi}}),
    declare(kRouteCategories, "/v1/categories", kResource, nullptr,
            {{"GET", kReader, list_categories},
             {"POST", kAdmin, create<Table::kCategories>, kJsonBody}}),
    declare(kRouteCategory, "/v1/categories/{name}", kResource, nullptr,
            {{"GET", kReader, read_category},
             {"PUT", kAdmin, replace<Table::kCategories>, kJsonBody},
             {"DELETE", kAdmin, remove<Table::kCategories>}}),
    declare(kRouteProducts, "/v1/products", kResource, nullptr,
            {{"POST", kAdmin, create<Table::kProducts>, kJsonBody}}),
    declare(kRouteProduct, "/v1/products/{sku}", kResource, nullptr,
            {{"GET", kReader, read_product},
             {"PUT", kAdmin, replace<Table::kProducts>, kJsonBody},
             {"DELETE", kAdmin, remove<Table::kProducts>}}),
    declare(kRouteAccounting, "/v1/accounting", kResource, accounting,
            {{"GET", kReader, read_rows}}),
    declare(kRouteHealthz, "/healthz", kResource, nullptr, {{"GET", kOpen, healthz}}),
    declare(kRouteReadyz, "/readyz", kResource, nullptr, {{"GET", kOpen, readyz}}),
    declare(kRouteMetrics, "/metrics", kResource, nullptr, {{"GET", kOpen, metrics}}),
    // The service answers GET itself, with the exchange (LiveHub).
    declare(kRouteStream, "/v1/stream", kAsIs, nullptr, {{"GET", kReader, stream}}),
    declare(kRouteDashboard, "/", kAsIs, nullptr, {{"GET", kOpen, dashboard}}),
    declare(kRouteAsset, "/dashboard/{file}", kAsIs, nullptr, {{"GET", kOpen, asset}}),
    declare(kRouteSession, "/v1/session", kAsIs, nullptr,
            {{"POST", kOpen, open_session, kJsonBody}, {"DELETE", kOpen, close_session}}),
    // Webhook endpoints: their URLs and secrets are the admin's alone, reads
    // included. An id that is not a whole number from 1 is 404.
    declare(kRouteWebhookEndpoints, "/v1/webhooks/endpoints", kResource, nullptr,
            {{"GET", kAdmin, list_webhook_endpoints},
             {"POST", kAdmin, create_webhook_endpoint, kJsonBody}}),
    declare(kRouteWebhookEndpoint, "/v1/webhooks/endpoints/{id}", kResource, webhook_endpoint,
            {{"GET", kAdmin, read_webhook_endpoint},
             {"PATCH", kAdmin, update_webhook_endpoint, kJsonBody}}),
    declare(kRouteWebhookDisable, "/v1/webhooks/endpoints/{id}/disable", kResource,
            webhook_endpoint, {{"POST", kAdmin, disable_webhook_endpoint, kOptionalJsonBody}}),
    declare(kRouteWebhookEnable, "/v1/webhooks/endpoints/{id}/enable", kResource, webhook_endpoint,
            {{"POST", kAdmin, enable_webhook_endpoint}}),
    declare(kRouteWebhookRotate, "/v1/webhooks/endpoints/{id}/rotate-secret", kResource,
            webhook_endpoint, {{"POST", kAdmin, rotate_webhook_secret, kOptionalJsonBody}}),
    declare(kRouteWebhookDeliveries, "/v1/webhooks/endpoints/{id}/deliveries", kResource,
            webhook_deliveries, {{"GET", kAdmin, list_webhook_deliveries}}),
    declare(kRouteWebhookReplay, "/v1/webhooks/endpoints/{id}/replay", kResource, webhook_endpoint,
            {{"POST", kAdmin, replay_webhook_deliveries, kOptionalJsonBody}}),
};

}  // namespace detail

using detail::kRoutes;

// In the order of enum Route, so kRoutes[route] is the route's.
static_assert([] {
  for (std::size_t i = 0; i < kRoutes.size(); ++i) {
    if (kRoutes[i].route != i) return false;
  }
  return true;
}());
// A parameter is one whole segment, named, and what follows it is fixed:
// nothing, or segments that are not empty.
static_assert([] {
  for (const RouteSpec& spec : kRoutes) {
    if (!spec.keyed()) continue;
    const std::string_view prefix = spec.prefix(), parameter = spec.parameter(),
                           suffix = spec.suffix();
    if (prefix.empty() || prefix.back() != '/' || parameter.size() < 3 || parameter.back() != '}' ||
        parameter.find('/') != std::string_view::npos) {
      return false;
    }
    if (!suffix.empty() && (suffix.front() != '/' || suffix.back() == '/' ||
                            suffix.find("//") != std::string_view::npos ||
                            suffix.find_first_of("{}") != std::string_view::npos)) {
      return false;
    }
  }
  return true;
}());
// A path is the first route's that takes it: each pattern, read as a
// path, is its own route's (none before it shadows it).
static_assert([] {
  for (const RouteSpec& spec : kRoutes) {
    for (const RouteSpec& earlier : kRoutes) {
      if (earlier.key_of(spec.pattern)) {
        if (&earlier != &spec) return false;
        break;
      }
    }
  }
  return true;
}());
// GET and DELETE take no body.
static_assert([] {
  for (const RouteSpec& spec : kRoutes) {
    for (const Operation& op : spec.operations) {
      if (op.method.empty()) continue;
      const bool bodiless = op.method == "GET" || op.method == "DELETE";
      if (bodiless && op.body != Body::kNone) return false;
    }
  }
  return true;
}());

}  // namespace millrace::api
