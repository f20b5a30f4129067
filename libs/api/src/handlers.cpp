#include "handlers.hpp"

#include <optional>
#include <utility>

#include "assets.hpp"
#include "body.hpp"
#include "millrace/httpd/ops.hpp"
#include "millrace/httpd/request.hpp"
#include "problem.hpp"
#include "render.hpp"

namespace millrace::api {

namespace {

constexpr std::string_view kCsvType = "text/csv; charset=utf-8";
constexpr std::string_view kTextType = "text/plain; charset=utf-8";

httpd::Reply body_reply(int status, std::string body, std::string_view content_type) {
  httpd::Reply r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = content_type;
  return r;
}

// A positive sku from a path segment; nullopt for anything else (which no
// product can have).
std::optional<std::int64_t> parse_sku(std::string_view text) {
  return parse_id(text);
}

// Whether a key can name a stored row of `table`: any other has none to read or delete.
bool possible_key(catalog::Table table, std::string_view key) {
  return table == catalog::Table::kCategories ? storable_text(key) : parse_sku(key).has_value();
}

std::string_view no_such(catalog::Table table) {
  return table == catalog::Table::kCategories ? "no such category" : "no such product";
}

httpd::Reply rows_reply(const View& view, const Rows& rows, std::int64_t limit, Format format) {
  auto reply = format == Format::kCsv ? body_reply(200, rows_csv(view, rows), kCsvType)
                                      : body_reply(200, rows_json(view, rows, limit), kJsonType);
  if (rows.fill) reply.headers.emplace_back(kViewFillHeader, rows.fill->state);
  return reply;
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

// A catalog row as JSON, or 404 when there is none: from memory when the
// process holds it, else read by a worker.
template <typename Key, typename Arg>
Routed read_row(std::string_view instance, Key key,
                std::optional<std::string> (catalog::Reads::*read)(Arg),
                std::optional<catalog::HeldBody> (catalog::Held::*held)(Arg) const,
                std::string_view absent) {
  const auto reply = [instance = std::string(instance), absent](std::optional<std::string> body) {
    return body ? body_reply(200, std::move(*body), kJsonType)
                : not_found(instance, std::string(absent));
  };
  Job job([key, read, reply](Backend& b) { return reply((b.catalog().*read)(key)); });
  job.peek = [key = std::move(key), held,
              reply](const catalog::Held& memory) -> std::optional<httpd::Reply> {
    auto found = (memory.*held)(key);
    if (!found) return std::nullopt;
    return reply(std::move(found->body));
  };
  return job;
}

// POST (no key in the path) and PUT.
Routed write(catalog::Table table, const Call& call, std::optional<std::string_view> path_key) {
  auto record = parse_body(table, call.request.body(), path_key);
  if (auto* e = std::get_if<BodyError>(&record)) {
    return body_problem(e->status, e->detail, call.path, e->field);
  }
  return Job([r = std::get<catalog::Record>(std::move(record)), put = path_key.has_value(),
              instance = std::string(call.path)](Backend& b) {
    return write_reply(put ? b.put(r) : b.create(r), instance);
  });
}

// Static, built into the binary: whatever the Accept header says.
httpd::Reply static_file(std::string_view name, std::string_view instance) {
  const Asset* asset = find_asset(name);
  if (asset == nullptr) return not_found(instance, "no such file");
  httpd::Reply r = body_reply(200, std::string(asset->body), asset->content_type);
  // Revalidated on each load: a new build's page is never mixed with an
  // old script. They are small, and the page opens one stream after.
  r.headers = {{"Cache-Control", "no-cache"}, {"X-Content-Type-Options", "nosniff"}};
  return r;
}

httpd::Reply session_reply() {
  httpd::Reply r = body_reply(204, "", kJsonType);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace

httpd::Reply problem(int status, std::string_view code, std::string detail,
                     std::string_view instance, std::string field) {
  return problem_reply(
      Problem{status, code, std::move(detail), std::string(instance), std::move(field)});
}

httpd::Reply not_found(std::string_view instance, std::string detail) {
  return problem(404, "not_found", std::move(detail), instance);
}

httpd::Reply body_problem(int status, std::string detail, std::string_view instance,
                          std::string field) {
  return problem(status, status == 400 ? "malformed_body" : "invalid_body", std::move(detail),
                 instance, std::move(field));
}

namespace handlers {

std::variant<httpd::Reply, Reading> named_view(const RouterState& state, std::string_view path,
                                               std::string_view key) {
  const View* view = state.views().find(key);
  if (view == nullptr) return not_found(path, "no such view; GET /v1/views lists them");
  return Reading{view, view->windowed ? ParamSet::kWindowed : ParamSet::kLimit, true};
}

std::variant<httpd::Reply, Reading> accounting(const RouterState&, std::string_view,
                                               std::string_view) {
  return Reading{&accounting_view(), ParamSet::kGroup, true};
}

Routed dashboard(const Call& call) {
  httpd::Reply r = static_file("index.html", call.path);
  // The page is what runs scripts: it says which may run.
  if (r.status == 200) {
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
                           "form-action 'none'; frame-ancestors 'none'");
  }
  return r;
}

Routed asset(const Call& call) {
  return static_file(call.key, call.path);
}

Routed stream(const Call& call) {
  // The service answers GET itself (it needs the exchange); anything that
  // reaches here is a bug.
  return problem(500, "internal_error", "the live stream is not available", call.path);
}

Routed open_session(const Call& call) {
  auto parsed = parse_session_body(call.request.body());
  if (auto* e = std::get_if<BodyError>(&parsed)) {
    return body_problem(e->status, e->detail, call.path, e->field);
  }
  httpd::Reply r = session_reply();
  const RouterState& s = call.state;
  // Reads are open: nothing to trade the token for.
  if (!s.sessions) return r;
  const std::string& token = std::get<std::string>(parsed);
  const bool known = httpd::constant_time_equal(token, s.settings.read_token) ||
                     (!s.settings.admin_token.empty() &&
                      httpd::constant_time_equal(token, s.settings.admin_token));
  if (!known) {
    return problem(401, "unauthorized",
                   "the token is neither MILLRACE_API_READ_TOKEN nor MILLRACE_API_ADMIN_TOKEN",
                   call.path, "token");
  }
  r.headers.emplace_back("Set-Cookie", s.sessions->issue(s.now()));
  return r;
}

Routed close_session(const Call& call) {
  httpd::Reply r = session_reply();
  if (call.state.sessions) r.headers.emplace_back("Set-Cookie", call.state.sessions->clear());
  return r;
}

Routed healthz(const Call&) {
  return httpd::liveness_reply();
}

Routed readyz(const Call& call) {
  return httpd::readiness_reply(call.state.readiness());
}

Routed metrics(const Call& call) {
  return body_reply(200, call.state.scrape(), "text/plain; version=0.0.4; charset=utf-8");
}

Routed list_views(const Call& call) {
  return body_reply(200, views_json(call.state.views()), kJsonType);
}

Routed openapi(const Call& call) {
  return body_reply(200, call.state.openapi, "application/yaml; charset=utf-8");
}

Routed read_rows(const Call& call) {
  const ViewParams& p = call.params;
  ViewQuery q{call.reading.view, p.limit, p.from_us, p.to_us, p.group, p.filters};
  if (q.group && !storable_text(*q.group)) {
    // No stored group can have this name (PostgreSQL text holds no NUL).
    return rows_reply(*q.view, Rows{}, p.limit, call.format);
  }
  return Job(
      [q, f = call.format](Backend& b) { return rows_reply(*q.view, b.read(q), q.limit, f); });
}

Routed list_categories(const Call&) {
  Job job([](Backend& b) { return body_reply(200, b.catalog().categories(), kJsonType); });
  job.peek = [](const catalog::Held& memory) -> std::optional<httpd::Reply> {
    auto body = memory.categories();
    if (!body) return std::nullopt;
    return body_reply(200, std::move(*body), kJsonType);
  };
  return job;
}

Routed read_category(const Call& call) {
  const auto table = catalog::Table::kCategories;
  if (!possible_key(table, call.key)) return not_found(call.path, std::string(no_such(table)));
  return read_row(call.path, std::string(call.key), &catalog::Reads::category,
                  &catalog::Held::category, no_such(table));
}

Routed read_product(const Call& call) {
  const auto sku = parse_sku(call.key);
  if (!sku) return not_found(call.path, "no such product (a sku is a whole number from 1)");
  return read_row(call.path, *sku, &catalog::Reads::product, &catalog::Held::product,
                  no_such(catalog::Table::kProducts));
}

template <catalog::Table kTable>
Routed create(const Call& call) {
  return write(kTable, call, std::nullopt);
}

template <catalog::Table kTable>
Routed replace(const Call& call) {
  return write(kTable, call, call.key);
}

template <catalog::Table kTable>
Routed remove(const Call& call) {
  if (!possible_key(kTable, call.key)) return not_found(call.path, std::string(no_such(kTable)));
  return Job([k = std::string(call.key), instance = std::string(call.path)](Backend& b) {
    return write_reply(b.remove(kTable, k), instance);
  });
}

template Routed create<catalog::Table::kCategories>(const Call&);
template Routed create<catalog::Table::kProducts>(const Call&);
template Routed replace<catalog::Table::kCategories>(const Call&);
template Routed replace<catalog::Table::kProducts>(const Call&);
template Routed remove<catalog::Table::kCategories>(const Call&);
template Routed remove<catalog::Table::kProducts>(const Call&);

}  // namespace handlers

}  // namespace millrace::api
