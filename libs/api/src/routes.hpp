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

struct Operation {
  std::string_view method;  // empty: no more operations
  Access access = Access::kOpen;
  Handler handler = nullptr;
  // Refused 415 before it is read unless it is application/json.
  bool json_body = false;
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
  // The OpenAPI path template. Only the last segment may be a parameter,
  // "{name}": one segment, not empty.
  std::string_view pattern;
  Taken taken = Taken::kResource;
  Resolve resolve = nullptr;  // null: no view, so no query parameter and JSON only
  // In the order the Allow header lists them.
  std::array<Operation, kMaxOperations> operations{};

  constexpr bool keyed() const { return pattern.find('{') != std::string_view::npos; }
  // What a path starts with: all of it unless keyed.
  constexpr std::string_view prefix() const { return pattern.substr(0, pattern.find('{')); }
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
inline constexpr bool kJsonBody = true;

inline constexpr std::array<RouteSpec, kRouteOther> kRoutes = {
    declare(kRouteViews, "/v1/views", kResource, nullptr, {{"GET", kReader, list_views}}),
    declare(kRouteView, "/v1/views/{name}", kResource, named_view, {{"GET", kReader, read_rows}}),
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
// A parameter is a whole last segment.
static_assert([] {
  for (const RouteSpec& spec : kRoutes) {
    if (!spec.keyed()) continue;
    const std::size_t brace = spec.prefix().size();
    if (spec.pattern[brace - 1] != '/' || spec.pattern.back() != '}' ||
        spec.pattern.find('/', brace) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}());

}  // namespace millrace::api
