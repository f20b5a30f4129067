#pragma once

// What the router's tests share: a router with the admin token, the answer a
// client would get (screen, route, then the job on a fake backend), and
// readers of a reply's headers, JSON and problem code.

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "fakes.hpp"
#include "router.hpp"

namespace millrace::api::testing {

inline constexpr const char* kToken = "s3cret-token";

inline Router make_router(std::string token = kToken, bool admin_database = true,
                          std::optional<std::string> not_ready = std::nullopt) {
  RouterSettings settings;
  settings.admin_token = std::move(token);
  settings.admin_database = admin_database;
  return Router(
      std::move(settings),
      [not_ready] {
        std::vector<runtime::Problem> problems;
        if (not_ready) problems.push_back({"postgresql", *not_ready, "start it"});
        return problems;
      },
      [] { return std::string("# metrics\n"); });
}

// What a client would get: screen, then route, then the job on `backend`.
inline httpd::Reply answer(const Router& router, const FakeRequest& req, FakeBackend& backend) {
  if (auto refused = router.screen(req)) return std::move(*refused);
  auto routed = router.route(req);
  if (auto* reply = std::get_if<httpd::Reply>(&routed)) return std::move(*reply);
  return Router::run(std::get<Job>(routed), backend, req.path(),
                     [](core::FailureClass, std::string_view) {});
}

inline std::optional<std::string_view> header(const httpd::Reply& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

inline rapidjson::Document json(const httpd::Reply& r) {
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

inline std::string problem_code(const httpd::Reply& r) {
  CHECK(r.content_type == "application/problem+json");
  const auto d = json(r);
  CHECK(d["status"].GetInt() == r.status);
  const std::string type = d["type"].GetString();
  REQUIRE(type.rfind("urn:millrace:problem:", 0) == 0);
  return type.substr(std::string("urn:millrace:problem:").size());
}

inline std::map<std::string, std::string> admin_headers(std::string token = kToken) {
  return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
}

}  // namespace millrace::api::testing
