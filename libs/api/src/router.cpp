#include "router.hpp"

#include <charconv>
#include <utility>

#include "assets.hpp"
#include "body.hpp"
#include "millrace/httpd/request.hpp"
#include "problem.hpp"
#include "query.hpp"
#include "render.hpp"

namespace millrace::api {

namespace {

constexpr std::string_view kJsonType = "application/json";
constexpr std::string_view kCsvType = "text/csv; charset=utf-8";
constexpr std::string_view kTextType = "text/plain; charset=utf-8";

httpd::Reply body_reply(int status, std::string body, std::string_view content_type) {
  httpd::Reply r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = content_type;
  return r;
}

httpd::Reply problem(int status, std::string_view code, std::string detail,
                     std::string_view instance, std::string field = {}) {
  return problem_reply(
      Problem{status, code, std::move(detail), std::string(instance), std::move(field)});
}

httpd::Reply not_found(std::string_view instance, std::string detail) {
  return problem(404, "not_found", std::move(detail), instance);
}

httpd::Reply not_acceptable(std::string_view instance, bool csv_too) {
  return problem(406, "not_acceptable",
                 csv_too ? "this resource is served as application/json or text/csv"
                         : "this resource is served as application/json only",
                 instance);
}

bool is_admin_method(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "DELETE";
}

// Routes that serve the data: behind the read token when one is set.
bool is_read_route(Route route) {
  switch (route) {
    case kRouteViews:
    case kRouteView:
    case kRouteCategories:
    case kRouteCategory:
    case kRouteProduct:
    case kRouteAccounting:
    case kRouteStream:
      return true;
    default:
      return false;
  }
}

bool is_catalog_route(Route route) {
  return route == kRouteCategories || route == kRouteCategory || route == kRouteProducts ||
         route == kRouteProduct;
}

bool method_allowed(Route route, std::string_view method) {
  const std::string_view allowed = allowed_methods(route);
  std::size_t start = 0;
  while (start < allowed.size()) {
    auto end = allowed.find(", ", start);
    if (end == std::string_view::npos) end = allowed.size();
    if (allowed.substr(start, end - start) == method) return true;
    start = end + 2;
  }
  return false;
}

// A positive sku from a path segment; nullopt for anything else (which no
// product can have).
std::optional<std::int64_t> parse_sku(std::string_view text) {
  std::int64_t sku = 0;
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), sku);
  if (ec != std::errc() || end != text.data() + text.size() || sku <= 0) return std::nullopt;
  return sku;
}

httpd::Reply rows_reply(const View& view, const Rows& rows, std::int64_t limit, Format format) {
  if (format == Format::kCsv) return body_reply(200, rows_csv(view, rows), kCsvType);
  return body_reply(200, rows_json(view, rows, limit), kJsonType);
}

httpd::Reply write_reply(const WriteResult& w, std::string_view instance) {
  switch (w.outcome) {
    case WriteOutcome::kCreated:
      return body_reply(201, w.body, kJsonType);
    case WriteOutcome::kUpdated:
      return body_reply(200, w.body, kJsonType);
    case WriteOutcome::kDeleted:
      return body_reply(204, "", kJsonType);
    case WriteOutcome::kNotFound:
      return not_found(instance, w.detail.empty() ? "no such key" : w.detail);
    case WriteOutcome::kConflict:
      return problem(409, "conflict", w.detail, instance);
  }
  return problem(500, "internal_error", "unknown write outcome", instance);
}

}  // namespace

Match match(std::string_view path) {
  const auto exact = [&](std::string_view p) { return path == p; };
  const auto under = [&](std::string_view prefix, Route route) -> std::optional<Match> {
    if (path.size() <= prefix.size() || path.substr(0, prefix.size()) != prefix) {
      return std::nullopt;
    }
    const std::string_view key = path.substr(prefix.size());
    if (key.find('/') != std::string_view::npos) return std::nullopt;
    return Match{route, key};
  };
  if (exact("/v1/views")) return {kRouteViews, {}};
  if (exact("/v1/categories")) return {kRouteCategories, {}};
  if (exact("/v1/products")) return {kRouteProducts, {}};
  if (exact("/v1/accounting")) return {kRouteAccounting, {}};
  if (exact("/healthz")) return {kRouteHealthz, {}};
  if (exact("/readyz")) return {kRouteReadyz, {}};
  if (exact("/metrics")) return {kRouteMetrics, {}};
  if (exact("/v1/stream")) return {kRouteStream, {}};
  if (exact("/v1/session")) return {kRouteSession, {}};
  if (exact("/")) return {kRouteDashboard, {}};
  if (auto m = under("/dashboard/", kRouteAsset)) return *m;
  if (auto m = under("/v1/views/", kRouteView)) return *m;
  if (auto m = under("/v1/categories/", kRouteCategory)) return *m;
  if (auto m = under("/v1/products/", kRouteProduct)) return *m;
  return {kRouteOther, {}};
}

std::string_view allowed_methods(Route route) {
  switch (route) {
    case kRouteCategories:
      return "GET, POST";
    case kRouteProducts:
      return "POST";
    case kRouteSession:
      return "POST, DELETE";
    case kRouteCategory:
    case kRouteProduct:
      return "GET, PUT, DELETE";
    case kRouteOther:
      return "";
    default:
      return "GET";
  }
}

Router::Router(RouterSettings settings, std::function<std::optional<std::string>()> not_ready,
               std::function<std::string()> scrape)
    : settings_(std::move(settings)), not_ready_(std::move(not_ready)), scrape_(std::move(scrape)) {
  if (!settings_.read_token.empty()) {
    sessions_.emplace(settings_.read_token, settings_.session_lifetime, settings_.secure);
  }
}

std::int64_t Router::now() const {
  if (settings_.unix_now) return settings_.unix_now();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Router::reader_allowed(const httpd::Request& req) const {
  if (!sessions_) return true;
  const std::string_view authorization = req.header("Authorization").value_or("");
  if (httpd::bearer_matches(authorization, settings_.read_token)) return true;
  if (!settings_.admin_token.empty() &&
      httpd::bearer_matches(authorization, settings_.admin_token)) {
    return true;
  }
  const auto cookie = req.header("Cookie");
  return cookie && sessions_->valid(*cookie, now());
}

httpd::Reply Router::session(const httpd::Request& req) const {
  const std::string_view instance = req.path();
  httpd::Reply r = body_reply(204, "", kJsonType);
  r.headers.emplace_back("Cache-Control", "no-store");
  if (req.method() == "DELETE") {
    if (sessions_) r.headers.emplace_back("Set-Cookie", sessions_->clear());
    return r;
  }
  auto parsed = parse_session_body(req.body());
  if (auto* e = std::get_if<BodyError>(&parsed)) {
    return problem(e->status, e->status == 400 ? "malformed_body" : "invalid_body", e->detail,
                   instance, e->field);
  }
  // Reads are open: nothing to trade the token for.
  if (!sessions_) return r;
  const std::string& token = std::get<std::string>(parsed);
  const bool known =
      httpd::constant_time_equal(token, settings_.read_token) ||
      (!settings_.admin_token.empty() && httpd::constant_time_equal(token, settings_.admin_token));
  if (!known) {
    return problem(401, "unauthorized",
                   "the token is neither MILLRACE_API_READ_TOKEN nor MILLRACE_API_ADMIN_TOKEN",
                   instance, "token");
  }
  r.headers.emplace_back("Set-Cookie", sessions_->issue(now()));
  return r;
}

std::optional<httpd::Reply> Router::admin_precheck(const httpd::Request& req, Route route) const {
  const std::string_view instance = req.path();
  if (settings_.admin_token.empty()) {
    return problem(503, "admin_not_configured",
                   "admin writes are off: MILLRACE_API_ADMIN_TOKEN is not set", instance);
  }
  if (!httpd::bearer_matches(req.header("Authorization").value_or(""), settings_.admin_token)) {
    httpd::Reply r =
        problem(401, "unauthorized",
                "admin writes need Authorization: Bearer <MILLRACE_API_ADMIN_TOKEN>", instance);
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  if (!settings_.admin_database) {
    return problem(503, "admin_not_configured",
                   "admin writes are off: MILLRACE_API_ADMIN_PG_DSN (the admin connection) is "
                   "not set",
                   instance);
  }
  if (req.method() != "DELETE") {
    const auto format = httpd::body_format(req.header("Content-Type").value_or(""));
    if (!format || *format != httpd::BodyFormat::kJson) {
      return problem(415, "unsupported_media_type", "the body must be application/json (UTF-8)",
                     instance);
    }
  }
  (void)route;
  return std::nullopt;
}

std::optional<httpd::Reply> Router::screen(const httpd::Request& req) const {
  const Match m = match(req.path());
  // route() answers a method the route does not allow (405).
  if (!method_allowed(m.route, req.method())) return std::nullopt;
  if (is_catalog_route(m.route) && is_admin_method(req.method())) {
    return admin_precheck(req, m.route);
  }
  if (m.route == kRouteSession && req.method() == "POST") {
    const auto format = httpd::body_format(req.header("Content-Type").value_or(""));
    if (!format || *format != httpd::BodyFormat::kJson) {
      return problem(415, "unsupported_media_type", "the body must be application/json (UTF-8)",
                     req.path());
    }
  }
  if (is_read_route(m.route) && !reader_allowed(req)) {
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
  const std::string_view method = req.method();
  const Match m = match(path);
  if (m.route == kRouteOther) return not_found(path, "no such resource; see /v1/views");
  if (!method_allowed(m.route, method)) {
    httpd::Reply r = problem(405, "method_not_allowed",
                             "allowed: " + std::string(allowed_methods(m.route)), path);
    r.headers.emplace_back("Allow", allowed_methods(m.route));
    // A HEAD reply's body would be taken for the next response.
    r.close = method == "HEAD";
    return r;
  }
  const std::string instance(path);
  if (m.route == kRouteSession) return session(req);
  if (m.route == kRouteDashboard || m.route == kRouteAsset) {
    // Static, built into the binary: whatever the Accept header says.
    const Asset* asset = find_asset(m.route == kRouteDashboard ? "index.html" : m.key);
    if (asset == nullptr) return not_found(path, "no such file");
    httpd::Reply r = body_reply(200, std::string(asset->body), asset->content_type);
    // Revalidated on each load: a new build's page is never mixed with an
    // old script. They are small, and the page opens one stream after.
    r.headers = {{"Cache-Control", "no-cache"}, {"X-Content-Type-Options", "nosniff"}};
    if (m.route == kRouteDashboard) {
      r.headers.emplace_back("Content-Security-Policy",
                             "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
                             "form-action 'none'; frame-ancestors 'none'");
    }
    return r;
  }
  if (m.route == kRouteStream) {
    // The service answers GET itself (it needs the exchange); anything that
    // reaches here is a bug.
    return problem(500, "internal_error", "the live stream is not available", path);
  }

  std::optional<std::string> key;
  if (m.route == kRouteView || m.route == kRouteCategory || m.route == kRouteProduct) {
    key = percent_decode(m.key, false);
    if (!key) return problem(400, "bad_request", "malformed percent-encoding in the path", path);
  }

  // Query parameters and the representation, before anything else runs.
  ParamSet params = ParamSet::kNone;
  bool csv_too = false;
  const View* view = nullptr;
  if (m.route == kRouteView) {
    view = find_view(*key);
    if (view == nullptr) return not_found(path, "no such view; GET /v1/views lists them");
    params = view->windowed ? ParamSet::kWindowed : ParamSet::kLimit;
    csv_too = true;
  } else if (m.route == kRouteAccounting) {
    view = &accounting_view();
    params = ParamSet::kGroup;
    csv_too = true;
  }
  auto parsed = parse_params(req.query(), params);
  if (auto* e = std::get_if<QueryError>(&parsed)) {
    return problem(400, "invalid_parameter", e->parameter + ": " + e->detail, path, e->parameter);
  }
  const ViewParams p = std::get<ViewParams>(parsed);

  if (is_admin_method(method)) {
    if (auto refused = admin_precheck(req, m.route)) return std::move(*refused);
  }
  std::optional<Format> format = Format::kJson;
  if (method != "DELETE") format = negotiate(req.header("Accept"), csv_too);
  if (!format) return not_acceptable(path, csv_too);

  switch (m.route) {
    case kRouteHealthz:
      return body_reply(200, "ok\n", kTextType);
    case kRouteReadyz: {
      const auto why = not_ready_();
      if (why) return body_reply(503, *why + "\n", kTextType);
      return body_reply(200, "ready\n", kTextType);
    }
    case kRouteMetrics:
      return body_reply(200, scrape_(), "text/plain; version=0.0.4; charset=utf-8");
    case kRouteViews:
      return body_reply(200, views_json(), kJsonType);
    case kRouteView:
    case kRouteAccounting: {
      ViewQuery q{view, p.limit, p.from_us, p.to_us, p.group};
      if (q.group && !storable_text(*q.group)) {
        // No stored group can have this name (PostgreSQL text holds no NUL).
        return rows_reply(*view, Rows{}, p.limit, *format);
      }
      return Job(
          [q, f = *format](Backend& b) { return rows_reply(*q.view, b.read(q), q.limit, f); });
    }
    default:
      break;
  }

  // The catalog.
  const catalog::Table table = m.route == kRouteCategories || m.route == kRouteCategory
                                   ? catalog::Table::kCategories
                                   : catalog::Table::kProducts;
  if (method == "GET") {
    if (m.route == kRouteCategories) {
      return Job([](Backend& b) { return body_reply(200, b.catalog().categories(), kJsonType); });
    }
    if (m.route == kRouteCategory) {
      if (!storable_text(*key)) return not_found(path, "no such category");
      return Job([name = *key, instance](Backend& b) {
        auto body = b.catalog().category(name);
        return body ? body_reply(200, std::move(*body), kJsonType)
                    : not_found(instance, "no such category");
      });
    }
    const auto sku = parse_sku(*key);
    if (!sku) return not_found(path, "no such product (a sku is a whole number from 1)");
    return Job([sku = *sku, instance](Backend& b) {
      auto body = b.catalog().product(sku);
      return body ? body_reply(200, std::move(*body), kJsonType)
                  : not_found(instance, "no such product");
    });
  }
  if (method == "DELETE") {
    if (table == catalog::Table::kCategories ? !storable_text(*key) : !parse_sku(*key)) {
      return not_found(
          path, table == catalog::Table::kCategories ? "no such category" : "no such product");
    }
    return Job([table, k = *key, instance](Backend& b) {
      return write_reply(b.remove(table, k), instance);
    });
  }
  // POST to the collection, PUT to a key.
  const std::optional<std::string_view> path_key =
      method == "PUT" ? std::optional<std::string_view>(*key) : std::nullopt;
  auto record = parse_body(table, req.body(), path_key);
  if (auto* e = std::get_if<BodyError>(&record)) {
    return problem(e->status, e->status == 400 ? "malformed_body" : "invalid_body", e->detail, path,
                   e->field);
  }
  return Job([r = std::get<catalog::Record>(std::move(record)), put = method == "PUT", instance](
                 Backend& b) { return write_reply(put ? b.put(r) : b.create(r), instance); });
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
