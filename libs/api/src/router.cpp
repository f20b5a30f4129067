#include "router.hpp"

#include <utility>

#include "handlers.hpp"
#include "millrace/httpd/request.hpp"
#include "openapi.hpp"
#include "query.hpp"
#include "routes.hpp"

namespace millrace::api {

namespace {

// The operation `method` names on a route; nullptr when it allows none.
const Operation* find_operation(Route route, std::string_view method) {
  if (route == kRouteOther) return nullptr;
  for (const Operation& op : kRoutes[route].operations) {
    if (!op.method.empty() && op.method == method) return &op;
  }
  return nullptr;
}

std::optional<httpd::Reply> unless_json_body(const httpd::Request& req) {
  const auto format = httpd::body_format(req.header("Content-Type").value_or(""));
  if (!format || *format != httpd::BodyFormat::kJson) {
    return problem(415, "unsupported_media_type", "the body must be application/json (UTF-8)",
                   req.path());
  }
  return std::nullopt;
}

// 415 for a body the operation does not take as sent.
std::optional<httpd::Reply> unless_body_taken(const httpd::Request& req, const Operation& op) {
  switch (op.body) {
    case Body::kNone:
      return std::nullopt;
    case Body::kJson:
      return unless_json_body(req);
    case Body::kOptionalJson:
      // A body said to be something else is refused before it is read; one
      // sent without a Content-Type once it is (the server keeps neither
      // Content-Length nor Transfer-Encoding for a handler to ask).
      if (req.header("Content-Type") || !req.body().empty()) return unless_json_body(req);
      return std::nullopt;
  }
  return std::nullopt;
}

bool reader_allowed(const RouterState& s, const httpd::Request& req) {
  if (!s.sessions) return true;
  const std::string_view authorization = req.header("Authorization").value_or("");
  if (httpd::bearer_matches(authorization, s.settings.read_token)) return true;
  if (!s.settings.admin_token.empty() &&
      httpd::bearer_matches(authorization, s.settings.admin_token)) {
    return true;
  }
  const auto cookie = req.header("Cookie");
  return cookie && s.sessions->valid(*cookie, s.now());
}

// An admin operation's refusal: no admin token or connection configured
// (503), the wrong token (401), a body that is not JSON (415).
std::optional<httpd::Reply> admin_refusal(const RouterSettings& settings, const httpd::Request& req,
                                          const Operation& op) {
  const std::string_view instance = req.path();
  if (settings.admin_token.empty()) {
    return problem(503, "admin_not_configured",
                   "admin writes are off: MILLRACE_API_ADMIN_TOKEN is not set", instance);
  }
  if (!httpd::bearer_matches(req.header("Authorization").value_or(""), settings.admin_token)) {
    httpd::Reply r =
        problem(401, "unauthorized",
                "admin writes need Authorization: Bearer <MILLRACE_API_ADMIN_TOKEN>", instance);
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  if (!settings.admin_database) {
    return problem(503, "admin_not_configured",
                   "admin writes are off: MILLRACE_API_ADMIN_PG (the admin connection) is "
                   "not set",
                   instance);
  }
  return unless_body_taken(req, op);
}

httpd::Reply method_not_allowed(Route route, std::string_view method, std::string_view path) {
  const std::string allowed = allowed_methods(route);
  httpd::Reply r = problem(405, "method_not_allowed", "allowed: " + allowed, path);
  r.headers.emplace_back("Allow", allowed);
  // A HEAD reply's body would be taken for the next response.
  r.close = method == "HEAD";
  return r;
}

httpd::Reply not_acceptable(std::string_view instance, bool csv_too) {
  return problem(406, "not_acceptable",
                 csv_too ? "this resource is served as application/json or text/csv"
                         : "this resource is served as application/json only",
                 instance);
}

}  // namespace

constinit const std::array<std::string_view, kRouteCount> kRouteNames = [] {
  std::array<std::string_view, kRouteCount> names{};
  for (const RouteSpec& spec : kRoutes) names[spec.route] = spec.pattern;
  names[kRouteOther] = "other";
  return names;
}();

Match match(std::string_view path) {
  for (const RouteSpec& spec : kRoutes) {
    if (const auto key = spec.key_of(path)) return {spec.route, *key};
  }
  return {kRouteOther, {}};
}

std::string allowed_methods(Route route) {
  std::string allowed;
  if (route == kRouteOther) return allowed;
  for (const Operation& op : kRoutes[route].operations) {
    if (op.method.empty()) continue;
    if (!allowed.empty()) allowed += ", ";
    allowed += op.method;
  }
  return allowed;
}

std::int64_t RouterState::now() const {
  if (settings.unix_now) return settings.unix_now();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Router::Router(RouterSettings settings, std::function<std::vector<runtime::Problem>()> readiness,
               std::function<std::string()> scrape)
    : state_{std::move(settings), std::nullopt, std::move(readiness), std::move(scrape), {}} {
  if (!state_.settings.views) state_.settings.views = built_in_views();
  state_.openapi = openapi_document(static_openapi(), *state_.settings.views);
  if (!state_.settings.read_token.empty()) {
    state_.sessions.emplace(state_.settings.read_token, state_.settings.session_lifetime,
                            state_.settings.secure);
  }
}

std::optional<httpd::Reply> Router::screen(const httpd::Request& req) const {
  const Operation* op = find_operation(match(req.path()).route, req.method());
  // route() answers a path or a method there is no operation for (404, 405).
  if (op == nullptr) return std::nullopt;
  if (op->access == Access::kAdmin) return admin_refusal(state_.settings, req, *op);
  if (auto refused = unless_body_taken(req, *op)) return refused;
  if (op->access == Access::kReader && !reader_allowed(state_, req)) {
    httpd::Reply r = problem(401, "unauthorized",
                             "reads need Authorization: Bearer <MILLRACE_API_READ_TOKEN>, or the "
                             "session cookie POST /v1/session sets",
                             req.path());
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  return std::nullopt;
}

std::variant<httpd::Reply, Job> Router::route(const httpd::Request& req) const {
  const std::string_view path = req.path();
  const Match m = match(path);
  if (m.route == kRouteOther) return not_found(path, "no such resource; see /v1/views");
  const Operation* op = find_operation(m.route, req.method());
  if (op == nullptr) return method_not_allowed(m.route, req.method(), path);
  const RouteSpec& spec = kRoutes[m.route];
  if (spec.taken == Taken::kAsIs) return op->handler(Call{req, state_, path, m.key, {}, {}});

  std::optional<std::string> decoded;
  if (spec.keyed()) {
    decoded = percent_decode(m.key, false);
    if (!decoded) {
      return problem(400, "bad_request", "malformed percent-encoding in the path", path);
    }
  }
  const std::string_view key = decoded ? std::string_view(*decoded) : std::string_view();
  Reading reading;
  if (spec.resolve != nullptr) {
    auto resolved = spec.resolve(state_, path, key);
    if (auto* refused = std::get_if<httpd::Reply>(&resolved)) return std::move(*refused);
    reading = std::get<Reading>(resolved);
  }
  static const std::vector<std::string> kNoDimensions;
  auto parsed = parse_params(req.query(), reading.params,
                             reading.view != nullptr ? reading.view->dimensions : kNoDimensions);
  if (auto* e = std::get_if<QueryError>(&parsed)) {
    return problem(400, "invalid_parameter", e->parameter + ": " + e->detail, path, e->parameter);
  }
  if (op->access == Access::kAdmin) {
    if (auto refused = admin_refusal(state_.settings, req, *op)) return std::move(*refused);
  }
  // A DELETE answers no body, so whatever the client accepts will do.
  std::optional<Format> format = Format::kJson;
  if (req.method() != "DELETE") format = negotiate(req.header("Accept"), reading.csv_too);
  if (!format) return not_acceptable(path, reading.csv_too);
  return op->handler(Call{req, state_, path, key, reading, std::get<ViewParams>(parsed), *format});
}

httpd::Reply Router::run(const Job& job, Backend& backend, std::string_view instance,
                         const std::function<void(core::FailureClass, std::string_view)>& failed) {
  try {
    return job(backend);
  } catch (const core::InfraError& e) {
    failed(e.failure_class(), e.what());
    if (e.retryable()) {
      httpd::Reply r = problem(503, "database_unavailable",
                               "the database did not answer; try again shortly", instance);
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    return problem(500, "internal_error",
                   "the database refused the request; the service's log says why", instance);
  }
}

}  // namespace millrace::api
