// millrace-api's routing with a read token: what needs it, and the session
// cookie a browser trades it for (POST /v1/session).
#include <catch2/catch.hpp>

#include "router_support.hpp"

using namespace millrace;
using namespace millrace::api;
using namespace millrace::api::testing;

namespace {

constexpr const char* kReadToken = "r34d-token";

// A router whose reads need kReadToken, at a clock the test moves.
struct ReadGuarded {
  explicit ReadGuarded(bool secure = false, std::string read_token = kReadToken)
      : router(
            settings(secure, std::move(read_token), clock),
            [] { return std::vector<runtime::Problem>{}; },
            [] { return std::string("# metrics\n"); }) {}
  static RouterSettings settings(bool secure, std::string read_token, const std::int64_t& clock) {
    RouterSettings s;
    s.admin_token = kToken;
    s.admin_database = true;
    s.read_token = std::move(read_token);
    s.secure = secure;
    s.session_lifetime = std::chrono::seconds(3600);
    s.unix_now = [&clock] { return clock; };
    return s;
  }
  std::int64_t clock = 1'700'000'000;
  Router router;
};

FakeRequest login(std::string body, std::string content_type = "application/json") {
  return FakeRequest("POST", "/v1/session", {{"Content-Type", std::move(content_type)}},
                     std::move(body));
}

// The cookie's name=value, as a browser would send it back.
std::string cookie_of(const httpd::Reply& r) {
  const std::string set = std::string(header(r, "Set-Cookie").value_or(""));
  return set.substr(0, set.find(';'));
}

}  // namespace

TEST_CASE("with a read token, the data needs it (or the admin token), probes and the page do not",
          "[api][router][auth]") {
  FakeBackend db;
  ReadGuarded g;
  for (const char* target :
       {"/v1/views", "/v1/views/hourly_sales", "/v1/categories", "/v1/categories/Pens",
        "/v1/products/7", "/v1/accounting", "/v1/stream", "/v1/openapi.yaml"}) {
    INFO(target);
    auto r = answer(g.router, FakeRequest("GET", target), db);
    CHECK(r.status == 401);
    CHECK(problem_code(r) == "unauthorized");
    CHECK(header(r, "WWW-Authenticate") == "Bearer");
    r = answer(g.router, FakeRequest("GET", target, {{"Authorization", "Bearer not-the-token"}}),
               db);
    CHECK(r.status == 401);
  }
  CHECK(db.reads.empty());
  auto r = answer(g.router,
                  FakeRequest("GET", "/v1/views", {{"Authorization", "Bearer r34d-token"}}), db);
  CHECK(r.status == 200);
  r = answer(g.router, FakeRequest("GET", "/v1/views", {{"Authorization", "bearer s3cret-token"}}),
             db);
  CHECK(r.status == 200);
  // The read token is not the admin token.
  r = answer(g.router,
             FakeRequest("DELETE", "/v1/products/8", {{"Authorization", "Bearer r34d-token"}}), db);
  CHECK(r.status == 401);
  for (const char* open : {"/healthz", "/readyz", "/metrics", "/", "/dashboard/app.js"}) {
    INFO(open);
    CHECK(answer(g.router, FakeRequest("GET", open), db).status == 200);
  }
}

TEST_CASE("POST /v1/session trades the token for a cookie that reads until it expires",
          "[api][router][auth]") {
  FakeBackend db;
  ReadGuarded g;
  auto r = answer(g.router, login(R"({"token":"r34d-token"})"), db);
  REQUIRE(r.status == 204);
  const std::string set = std::string(header(r, "Set-Cookie").value_or(""));
  CHECK(set.rfind("millrace_session=", 0) == 0);
  CHECK(set.find("; HttpOnly") != std::string::npos);
  CHECK(set.find("; SameSite=Strict") != std::string::npos);
  CHECK(set.find("; Path=/") != std::string::npos);
  CHECK(set.find("; Max-Age=3600") != std::string::npos);
  CHECK(set.find("Secure") == std::string::npos);  // plain HTTP
  CHECK(set.find("r34d-token") == std::string::npos);
  CHECK(header(r, "Cache-Control") == "no-store");
  const std::string cookie = cookie_of(r);
  const auto with_cookie = [&](const std::string& c) {
    return answer(g.router, FakeRequest("GET", "/v1/views", {{"Cookie", "theme=dark; " + c}}), db)
        .status;
  };
  CHECK(with_cookie(cookie) == 200);
  // Tampered with: another expiry, or another MAC.
  const auto dot = cookie.find('.');
  const std::string later =
      "millrace_session=" + std::to_string(g.clock + 3599) + cookie.substr(dot);
  CHECK(with_cookie(later) == 401);
  std::string flipped = cookie;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  CHECK(with_cookie(flipped) == 401);
  CHECK(with_cookie("millrace_session=garbage") == 401);
  // The admin token logs in too.
  CHECK(answer(g.router, login(R"({"token":"s3cret-token"})"), db).status == 204);

  // It expires with its lifetime.
  g.clock += 3599;
  CHECK(with_cookie(cookie) == 200);
  g.clock += 1;
  CHECK(with_cookie(cookie) == 401);

  // A new read token ends every session.
  ReadGuarded rotated(false, "n3w-token");
  rotated.clock = g.clock - 10;
  CHECK(answer(rotated.router, FakeRequest("GET", "/v1/views", {{"Cookie", cookie}}), db).status ==
        401);
}

TEST_CASE("POST /v1/session refuses a wrong token, a non-JSON body and a malformed one",
          "[api][router][auth]") {
  FakeBackend db;
  ReadGuarded g;
  auto r = answer(g.router, login(R"({"token":"guess"})"), db);
  CHECK(r.status == 401);
  CHECK_FALSE(header(r, "Set-Cookie").has_value());
  r = answer(g.router, login("token=r34d-token", "application/x-www-form-urlencoded"), db);
  CHECK(r.status == 415);
  r = answer(g.router, login("{"), db);
  CHECK(r.status == 400);
  r = answer(g.router, login(R"({"token":7})"), db);
  CHECK(r.status == 422);
  r = answer(g.router, login(R"({"token":"r34d-token","user":"x"})"), db);
  CHECK(r.status == 422);
  r = answer(g.router, FakeRequest("GET", "/v1/session"), db);
  CHECK(r.status == 405);
  CHECK(header(r, "Allow") == "POST, DELETE");
  // Logging out clears the cookie.
  r = answer(g.router, FakeRequest("DELETE", "/v1/session"), db);
  CHECK(r.status == 204);
  CHECK(header(r, "Set-Cookie").value_or("").find("millrace_session=; Max-Age=0") == 0);
}

TEST_CASE("over TLS the session cookie is Secure, without a read token reads are open",
          "[api][router][auth]") {
  FakeBackend db;
  ReadGuarded secure(true);
  auto r = answer(secure.router, login(R"({"token":"r34d-token"})"), db);
  CHECK(header(r, "Set-Cookie").value_or("").find("; Secure") != std::string::npos);

  // make_router() has no read token.
  CHECK(answer(make_router(), FakeRequest("GET", "/v1/views"), db).status == 200);
  r = answer(make_router(), login(R"({"token":"anything"})"), db);
  CHECK(r.status == 204);
  CHECK_FALSE(header(r, "Set-Cookie").has_value());
}
