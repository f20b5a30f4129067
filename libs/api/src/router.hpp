#pragma once

// millrace-api's routes: which route a path is, which methods it allows,
// and for each request either the reply (answered at once, on the event
// loop) or the job a worker runs against the database. No I/O: the unit
// tests drive it with fake requests and a fake Backend.

#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "millrace/core/failure.hpp"
#include "millrace/httpd/server.hpp"
#include "ports.hpp"

namespace millrace::api {

// The component name in millrace-api's log lines.
inline constexpr std::string_view kComponent = "api";

enum Route : std::size_t {
  kRouteViews,
  kRouteView,
  kRouteCategories,
  kRouteCategory,
  kRouteProducts,
  kRouteProduct,
  kRouteAccounting,
  kRouteHealthz,
  kRouteReadyz,
  kRouteMetrics,
  kRouteStream,     // Server-Sent Events, answered by the service's LiveHub
  kRouteDashboard,  // the page
  kRouteAsset,      // its scripts and styles
  kRouteOther,
};
inline constexpr std::size_t kRouteCount = 14;
// The route label of the metrics: the OpenAPI path template.
inline constexpr std::array<std::string_view, kRouteCount> kRouteNames = {
    "/v1/views",         "/v1/views/{name}",
    "/v1/categories",    "/v1/categories/{name}",
    "/v1/products",      "/v1/products/{sku}",
    "/v1/accounting",    "/healthz",
    "/readyz",           "/metrics",
    "/v1/stream",        "/",
    "/dashboard/{file}", "other"};

struct Match {
  Route route = kRouteOther;
  std::string_view key;  // the path's last segment, still percent-encoded
};
Match match(std::string_view path);
// The Allow header of a route: exactly the methods proto/openapi.yaml lists.
std::string_view allowed_methods(Route route);

// A request's database work, run on a worker with that worker's Backend.
using Job = std::function<httpd::Reply(Backend&)>;

struct RouterSettings {
  std::string admin_token;      // empty: admin writes answer 503
  bool admin_database = false;  // an admin DSN is configured
};

class Router {
 public:
  // `not_ready` says why /readyz must answer 503 (nullopt: ready); `scrape`
  // is /metrics' body. Both are called on the event loop and must not block.
  Router(RouterSettings settings, std::function<std::optional<std::string>()> not_ready,
         std::function<std::string()> scrape);

  // Before the body is read: refuses admin writes without the token or
  // with a body that is not JSON (401, 415, 503), so their bodies are never
  // parsed. nullopt: go on.
  std::optional<httpd::Reply> screen(const httpd::Request& request) const;
  // The reply now, or the job that makes it.
  std::variant<httpd::Reply, Job> route(const httpd::Request& request) const;

  // Runs `job`; a database that cannot answer becomes a problem (503 when it
  // may heal, 500 otherwise) and is reported to `failed`.
  static httpd::Reply run(const Job& job, Backend& backend, std::string_view instance,
                          const std::function<void(core::FailureClass, std::string_view)>& failed);

 private:
  std::optional<httpd::Reply> admin_precheck(const httpd::Request& request, Route route) const;

  RouterSettings settings_;
  std::function<std::optional<std::string>()> not_ready_;
  std::function<std::string()> scrape_;
};

}  // namespace millrace::api
