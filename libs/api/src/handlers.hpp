#pragma once

// What each of millrace-api's operations answers, once the dispatch
// (router.cpp) has matched its route, allowed its method and, for a
// resource, decoded the key, read the query and picked the representation.
// routes.hpp says which handler answers which method of which path. No I/O.

#include <string>
#include <string_view>
#include <variant>

#include "millrace/catalog/records.hpp"
#include "millrace/httpd/server.hpp"
#include "query.hpp"
#include "router.hpp"
#include "views.hpp"

namespace millrace::api {

// The view a resource reads, with the query parameters and representations
// that follows from it. A route without one takes no parameter and is JSON.
struct Reading {
  const View* view = nullptr;
  ParamSet params = ParamSet::kNone;
  bool csv_too = false;
};

// A request as a handler sees it.
struct Call {
  const httpd::Request& request;
  const RouterState& state;
  std::string_view path;  // the problems' instance
  // The segment the path's parameter matched: still percent-encoded on a
  // route taken as is, decoded on a resource.
  std::string_view key;
  Reading reading;
  ViewParams params;
  Format format = Format::kJson;
};

using Routed = std::variant<httpd::Reply, Job>;
using Handler = Routed (*)(const Call& call);
// The Reading of a resource's key, or the reply when there is none (404).
using Resolve = std::variant<httpd::Reply, Reading> (*)(const RouterState& state,
                                                        std::string_view path,
                                                        std::string_view key);

// The replies the dispatch shares with the handlers.
inline constexpr std::string_view kJsonType = "application/json";
httpd::Reply problem(int status, std::string_view code, std::string detail,
                     std::string_view instance, std::string field = {});
httpd::Reply not_found(std::string_view instance, std::string detail);
// A body the client sent that parse_body() or parse_session_body() refused.
httpd::Reply body_problem(int status, std::string detail, std::string_view instance,
                          std::string field);

namespace handlers {

// Resolves.
std::variant<httpd::Reply, Reading> named_view(const RouterState& state, std::string_view path,
                                               std::string_view key);
std::variant<httpd::Reply, Reading> accounting(const RouterState& state, std::string_view path,
                                               std::string_view key);
// A webhook endpoint's id (404 unless a whole number from 1); its
// deliveries' also take limit, status and before.
std::variant<httpd::Reply, Reading> webhook_endpoint(const RouterState& state,
                                                     std::string_view path, std::string_view key);
std::variant<httpd::Reply, Reading> webhook_deliveries(const RouterState& state,
                                                       std::string_view path, std::string_view key);

// Taken as is.
Routed dashboard(const Call& call);
Routed asset(const Call& call);
Routed stream(const Call& call);
Routed open_session(const Call& call);
Routed close_session(const Call& call);
Routed openapi(const Call& call);

// Resources.
Routed healthz(const Call& call);
Routed readyz(const Call& call);
Routed metrics(const Call& call);
Routed list_views(const Call& call);
Routed read_rows(const Call& call);  // a view's, or the accounting's
Routed list_categories(const Call& call);
Routed read_category(const Call& call);
Routed read_product(const Call& call);
// The admin writes: POST to the collection, PUT and DELETE to a key.
template <catalog::Table kTable>
Routed create(const Call& call);
template <catalog::Table kTable>
Routed replace(const Call& call);
template <catalog::Table kTable>
Routed remove(const Call& call);
// /v1/webhooks/endpoints (webhook_routes.cpp).
Routed list_webhook_endpoints(const Call& call);
Routed create_webhook_endpoint(const Call& call);
Routed read_webhook_endpoint(const Call& call);
Routed update_webhook_endpoint(const Call& call);
Routed disable_webhook_endpoint(const Call& call);
Routed enable_webhook_endpoint(const Call& call);
Routed rotate_webhook_secret(const Call& call);
Routed list_webhook_deliveries(const Call& call);
Routed replay_webhook_deliveries(const Call& call);

}  // namespace handlers

}  // namespace millrace::api
