// What the sender asks of the HTTP client and how it turns answers into
// AttemptResults, against a fake client. The guard's ranges are guard_test's;
// integration.webhooks posts to a real receiver.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "millrace/http/testing/fake_client.hpp"
#include "sender.hpp"

using namespace millrace::webhooks::detail;
using millrace::http::Cause;
using millrace::http::testing::answer;
using millrace::http::testing::FakeClient;
using millrace::http::testing::no_answer;
using millrace::http::testing::Seen;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Sender> sender(std::vector<Seen>& seen, FakeClient::Answer a,
                               bool allow_private = false) {
  return make_http_sender({2500ms, allow_private, "millrace-webhooks/test"},
                          std::make_unique<FakeClient>(seen, std::move(a)));
}

Post post() {
  return {"https://receiver.example/hook", {{"webhook-id", "msg_1"}}, "{\"a\":1}"};
}

sockaddr_in ipv4(const char* address) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, address, &a.sin_addr);
  return a;
}

}  // namespace

TEST_CASE("a delivery is one POST with the webhook's own limits", "[webhooks][sender]") {
  std::vector<Seen> seen;
  auto s = sender(seen, [](const Seen&) { return answer(204); });
  const auto r = s->post(post());
  CHECK(r.status == 204);
  CHECK(r.error.empty());
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].url == "https://receiver.example/hook");
  CHECK(seen[0].header("webhook-id") == "msg_1");
  CHECK(seen[0].body == "{\"a\":1}");
  const auto& o = seen[0].options;
  CHECK(o.connect_timeout == 2500ms);
  CHECK(o.total_timeout == 2500ms);
  CHECK_FALSE(o.follow_redirects);
  REQUIRE(o.proxy);
  CHECK(o.proxy->empty());
  CHECK(o.user_agent == "millrace-webhooks/test");
  CHECK(o.keep_error_body == 256);
}

TEST_CASE("a failed answer keeps its status, first words and Retry-After", "[webhooks][sender]") {
  std::vector<Seen> seen;
  auto s = sender(seen, [](const Seen&) {
    auto r = answer(503, "busy, come back later");
    r.retry_after = std::chrono::seconds(30);
    return r;
  });
  const auto r = s->post(post());
  CHECK(r.status == 503);
  CHECK(r.error == "busy, come back later");
  REQUIRE(r.retry_after);
  CHECK(*r.retry_after == 30s);
  auto redirect = sender(seen, [](const Seen&) { return answer(302, "moved"); });
  CHECK(redirect->post(post()).status == 302);
}

TEST_CASE("a failed answer's words are UTF-8 text, whatever its bytes", "[webhooks][sender]") {
  // last_error is PostgreSQL text: bytes it refuses would leave the attempt
  // unrecorded, to be made again and again.
  std::vector<Seen> seen;
  const std::string cut = std::string(253, 'x') + "\xe6\x97\xa5";  // a character cut at 256
  auto s = sender(seen, [&](const Seen&) { return answer(500, cut.substr(0, 255)); });
  CHECK(s->post(post()).error == std::string(253, 'x') + "\xEF\xBF\xBD\xEF\xBF\xBD");
  auto latin1 = sender(seen, [](const Seen&) { return answer(502, "caf\xe9"); });
  CHECK(latin1->post(post()).error == "caf\xEF\xBF\xBD");
  auto nul = sender(seen, [](const Seen&) { return answer(500, std::string("a\0b", 3)); });
  CHECK(nul->post(post()).error ==
        "a\xEF\xBF\xBD"
        "b");
}

TEST_CASE("no answer is an attempt without a status, saying why", "[webhooks][sender]") {
  std::vector<Seen> seen;
  auto s = sender(seen, [](const Seen&) {
    return no_answer(Cause::kNoAnswer, "Connection timed out after 2500 milliseconds");
  });
  const auto r = s->post(post());
  CHECK_FALSE(r.status);
  CHECK(r.error == "Connection timed out after 2500 milliseconds");
}

TEST_CASE("private addresses are refused unless allowed", "[webhooks][sender]") {
  std::vector<Seen> seen;
  sender(seen, [](const Seen&) { return answer(200); })->post(post());
  sender(
      seen, [](const Seen&) { return answer(200); }, true)
      ->post(post());
  REQUIRE(seen.size() == 2);
  const auto& guard = seen[0].options.refuse_address;
  REQUIRE(guard);
  const auto loopback = ipv4("127.0.0.1");
  const auto why = guard(reinterpret_cast<const sockaddr*>(&loopback));
  REQUIRE(why);
  CHECK(why->find("MILLRACE_WEBHOOKS_ALLOW_PRIVATE") != std::string::npos);
  const auto public_address = ipv4("93.184.216.34");
  CHECK_FALSE(guard(reinterpret_cast<const sockaddr*>(&public_address)));
  CHECK_FALSE(seen[1].options.refuse_address);
}
