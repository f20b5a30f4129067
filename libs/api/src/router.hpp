#pragma once

// millrace-api's routing, as the route table (routes.hpp) declares it:
// which route a path is, which methods it allows, and for each request
// either the reply (answered at once, on the event loop) or the job a
// worker runs against the database. No I/O: the unit tests drive it with
// fake requests and a fake Backend.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "millrace/catalog/reads.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/httpd/server.hpp"
#include "millrace/runtime/health.hpp"
#include "ports.hpp"
#include "session.hpp"
#include "views.hpp"

namespace millrace::api {

// The component name in millrace-api's log lines.
inline constexpr std::string_view kComponent = "api";

// The routes, in the order routes.hpp declares them; kRouteOther is every
// path none of them matches.
enum Route : std::size_t {
  kRouteViews,
  kRouteView,
  kRouteOpenApi,  // the OpenAPI description, with the declared kinds' views
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
  kRouteSession,    // the dashboard's session cookie (session.hpp)
  kRouteWebhookEndpoints,
  kRouteWebhookEndpoint,
  kRouteWebhookDisable,
  kRouteWebhookEnable,
  kRouteWebhookRotate,
  kRouteWebhookDeliveries,
  kRouteWebhookReplay,
  kRouteOther,
};
inline constexpr std::size_t kRouteCount = kRouteOther + 1;
// The route label of the metrics: the OpenAPI path template, "other" for
// kRouteOther.
extern const std::array<std::string_view, kRouteCount> kRouteNames;

struct Match {
  Route route = kRouteOther;
  std::string_view key;  // the segment the pattern's parameter matched, still percent-encoded
};
Match match(std::string_view path);
// The Allow header of a route: its methods, as routes.hpp lists them.
std::string allowed_methods(Route route);

// A request's database work, run on a worker with that worker's Backend.
// A catalog read may also be answered at once from what the process holds
// in memory (catalog::Held, the near cache): `peek` gives that reply, or
// nullopt, and then the worker runs the job.
struct Job {
  Job() = default;
  template <typename Run>
  requires(!std::is_same_v<std::remove_cvref_t<Run>, Job> &&
           std::is_invocable_r_v<httpd::Reply, Run&, Backend&>) Job(Run work)
      : run(std::move(work)) {}  // NOLINT: a job is its work

  std::function<httpd::Reply(Backend&)> run;
  std::function<std::optional<httpd::Reply>(const catalog::Held&)> peek;

  httpd::Reply operator()(Backend& backend) const { return run(backend); }
};

struct RouterSettings {
  std::string admin_token;      // empty: admin writes answer 503
  bool admin_database = false;  // an admin DSN is configured
  // Empty: reads are open. Else the views, the catalog's reads, the
  // accounting and the live stream need Authorization: Bearer with it (or
  // the admin token), or a session cookie from POST /v1/session. /healthz,
  // /readyz, /metrics and the dashboard's static files stay open.
  std::string read_token;
  bool secure = false;  // served over TLS: session cookies are Secure
  std::chrono::seconds session_lifetime{12 * 3600};
  // Seconds since the epoch (sessions expire by it); null: the system clock.
  std::function<std::int64_t()> unix_now;
  // The views served: those of the kinds loaded (--kinds-dir); null: the
  // built-in kinds' (built_in_views()).
  std::shared_ptr<const ServedViews> views;
};

// What the handlers may use of the router.
struct RouterState {
  RouterSettings settings;
  std::optional<SessionCookies> sessions;  // when reads need a token
  std::function<std::vector<runtime::Problem>()> readiness;
  std::function<std::string()> scrape;
  // GET /v1/openapi.yaml's body: proto/openapi.yaml with the served views.
  std::string openapi;

  std::int64_t now() const;
  const ServedViews& views() const {
    return *settings.views;
  }  // settings.unix_now, or the system clock
};

class Router {
 public:
  // `readiness` says why /readyz must answer 503 (empty: ready); `scrape`
  // is /metrics' body. Both are called on the event loop and must not block.
  Router(RouterSettings settings, std::function<std::vector<runtime::Problem>()> readiness,
         std::function<std::string()> scrape);

  // Before the body is read: refuses reads without the read token or a
  // session (401), and admin writes without the admin token or with a body
  // that is not JSON (401, 415, 503), so their bodies are never parsed.
  // nullopt: go on.
  std::optional<httpd::Reply> screen(const httpd::Request& request) const;
  // The reply now, or the job that makes it.
  std::variant<httpd::Reply, Job> route(const httpd::Request& request) const;

  // Runs `job`; a database that cannot answer becomes a problem (503 when it
  // may heal, 500 otherwise) and is reported to `failed`.
  // The views it serves.
  std::shared_ptr<const ServedViews> views() const { return state_.settings.views; }

  static httpd::Reply run(const Job& job, Backend& backend, std::string_view instance,
                          const std::function<void(core::FailureClass, std::string_view)>& failed);

 private:
  RouterState state_;
};

}  // namespace millrace::api
