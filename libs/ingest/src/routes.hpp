#pragma once

// millrace-producer's routes and the replies every route builds.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "millrace/httpd/server.hpp"
#include "millrace/ingest/request.hpp"

namespace millrace::ingest {

// The component name in millrace-producer's log lines.
inline constexpr std::string_view kComponent = "producer";

inline constexpr std::string_view kEventsPath = "/v1/events";
// Orders (seed 003's), the declared kind `order` (proto/kinds/order.json).
inline constexpr std::string_view kOrdersPath = "/v1/orders";

enum Route : std::size_t {
  kRouteEvents,
  kRouteOrders,
  kRouteHealthz,
  kRouteReadyz,
  kRouteMetrics,
  kRouteOther
};
inline constexpr std::size_t kRouteCount = 6;
inline constexpr std::array<std::string_view, kRouteCount> kRouteNames = {
    "/v1/events", "/v1/orders", "/healthz", "/readyz", "/metrics", "other"};

inline Route route_of(std::string_view path) {
  if (path == kEventsPath) return kRouteEvents;
  if (path == kOrdersPath) return kRouteOrders;
  if (path == "/healthz") return kRouteHealthz;
  if (path == "/readyz") return kRouteReadyz;
  if (path == "/metrics") return kRouteMetrics;
  return kRouteOther;
}

inline httpd::Reply json_reply(int status, std::string body) {
  httpd::Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

inline httpd::Reply error_reply(int status, std::string_view error, std::string_view detail) {
  std::string body;
  append_error_json(body, error, detail);
  return json_reply(status, std::move(body));
}

inline httpd::Reply text_reply(int status, std::string body, std::string_view content_type) {
  httpd::Reply r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = content_type;
  return r;
}

}  // namespace millrace::ingest
