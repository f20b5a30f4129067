// /v1/webhooks/endpoints: the bodies and records are webhooks/admin_json.hpp's,
// the work webhooks/admin.hpp's behind the WebhookAdmin port; this maps
// their refusals to problems.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "handlers.hpp"
#include "millrace/webhooks/admin_json.hpp"
#include "problem.hpp"

namespace millrace::api {

namespace {
// Named, so that no name here meets another source's in the library's unity
// build.
namespace webhook_routes {

httpd::Reply json_reply(int status, std::string body) {
  httpd::Reply r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = kJsonType;
  return r;
}

// The route's resolve let only an id through.
std::int64_t id_of(const Call& call) {
  return parse_id(call.key).value_or(0);
}

// A body refused for its JSON: 400 when it is not JSON, else 422 naming the
// member.
httpd::Reply refused(const webhooks::InvalidBody& e, std::string_view instance) {
  return body_problem(e.malformed() ? 400 : 422, e.what(), instance, e.member());
}

// `then` with `read`'s struct of the request's body, or the problem.
template <typename Read, typename Then>
Routed with_body(const Call& call, Read read, Then then) {
  std::optional<decltype(read(std::string_view()))> value;
  try {
    value = read(call.request.body());
  } catch (const webhooks::InvalidBody& e) {
    return refused(e, call.path);
  }
  return then(std::move(*value));
}

// `work` on a worker, what admin.hpp refuses as a problem: an endpoint that
// is not there 404, a request that cannot be done 422 (its message the
// detail). core::InfraError goes on to Router::run.
template <typename Work>
Job admin_job(const Call& call, Work work) {
  return Job([instance = std::string(call.path),
              work = std::move(work)](Backend& backend) -> httpd::Reply {
    try {
      return work(backend.webhooks());
    } catch (const webhooks::NotFound& e) {
      return not_found(instance, e.what());
    } catch (const std::invalid_argument& e) {
      return problem(422, "invalid_body", e.what(), instance);
    }
  });
}

webhooks::Endpoint one(WebhookAdmin& admin, std::int64_t id) {
  auto found = admin.endpoints(id);
  if (found.empty()) throw webhooks::NotFound("no webhook endpoint " + std::to_string(id));
  return std::move(found.front());
}

httpd::Reply endpoint_reply(WebhookAdmin& admin, std::int64_t id) {
  return json_reply(200, webhooks::endpoint_json(one(admin, id)));
}

}  // namespace webhook_routes
}  // namespace

namespace handlers {

std::variant<httpd::Reply, Reading> webhook_endpoint(const RouterState&, std::string_view path,
                                                     std::string_view key) {
  if (!parse_id(key)) {
    return not_found(path, "no such webhook endpoint (an id is a whole number from 1)");
  }
  return Reading{};
}

std::variant<httpd::Reply, Reading> webhook_deliveries(const RouterState& state,
                                                       std::string_view path,
                                                       std::string_view key) {
  auto resolved = webhook_endpoint(state, path, key);
  if (auto* reading = std::get_if<Reading>(&resolved)) reading->params = ParamSet::kDeliveries;
  return resolved;
}

Routed list_webhook_endpoints(const Call& call) {
  using namespace webhook_routes;
  return admin_job(call, [](WebhookAdmin& admin) {
    return json_reply(200, webhooks::endpoints_json(admin.endpoints(std::nullopt)));
  });
}

Routed create_webhook_endpoint(const Call& call) {
  using namespace webhook_routes;
  return with_body(call, webhooks::new_endpoint_from_json, [&](webhooks::NewEndpoint e) -> Routed {
    return admin_job(call, [e = std::move(e)](WebhookAdmin& admin) {
      const auto added = admin.add(e);
      // A secret the client chose is not echoed; one made here is shown once.
      return json_reply(
          201, webhooks::secret_json(one(admin, added.id), e.secret.empty() ? added.secret : ""));
    });
  });
}

Routed read_webhook_endpoint(const Call& call) {
  using namespace webhook_routes;
  return admin_job(call,
                   [id = id_of(call)](WebhookAdmin& admin) { return endpoint_reply(admin, id); });
}

Routed update_webhook_endpoint(const Call& call) {
  using namespace webhook_routes;
  return with_body(
      call, webhooks::endpoint_change_from_json, [&](webhooks::EndpointChange change) -> Routed {
        return admin_job(call, [id = id_of(call), change = std::move(change)](WebhookAdmin& admin) {
          admin.update(id, change);
          return endpoint_reply(admin, id);
        });
      });
}

Routed disable_webhook_endpoint(const Call& call) {
  using namespace webhook_routes;
  return with_body(call, webhooks::disable_reason_from_json, [&](std::string reason) -> Routed {
    return admin_job(call, [id = id_of(call), reason = std::move(reason)](WebhookAdmin& admin) {
      admin.set_active(id, false, reason);
      return endpoint_reply(admin, id);
    });
  });
}

Routed enable_webhook_endpoint(const Call& call) {
  using namespace webhook_routes;
  return admin_job(call, [id = id_of(call)](WebhookAdmin& admin) {
    admin.set_active(id, true, "");
    return endpoint_reply(admin, id);
  });
}

Routed rotate_webhook_secret(const Call& call) {
  using namespace webhook_routes;
  return with_body(
      call, webhooks::rotation_from_json, [&](webhooks::SecretRotation rotation) -> Routed {
        return admin_job(call, [id = id_of(call), rotation](WebhookAdmin& admin) {
          const std::string fresh = admin.rotate_secret(id, rotation.overlap, rotation.secret);
          // As for a new endpoint: only a secret made here is answered.
          return json_reply(
              200, webhooks::secret_json(one(admin, id), rotation.secret.empty() ? fresh : ""));
        });
      });
}

Routed list_webhook_deliveries(const Call& call) {
  using namespace webhook_routes;
  return admin_job(call, [id = id_of(call), p = call.params](WebhookAdmin& admin) {
    // One more than asked for tells whether there is a next page.
    auto page = admin.deliveries(id, p.failed_only, p.limit + 1, p.before);
    std::optional<std::int64_t> next_before;
    if (static_cast<std::int64_t>(page.size()) > p.limit) {
      page.resize(static_cast<std::size_t>(p.limit));
      next_before = page.back().id;
    }
    return json_reply(200, webhooks::deliveries_json(page, next_before));
  });
}

Routed replay_webhook_deliveries(const Call& call) {
  using namespace webhook_routes;
  return with_body(
      call, webhooks::replay_since_from_json, [&](std::optional<std::string> since) -> Routed {
        if (since) {
          // RFC 3339 only: PostgreSQL would also take "yesterday" or "epoch".
          const auto micros = parse_rfc3339(*since);
          if (!micros) {
            return body_problem(422,
                                "\"since\" must be an RFC 3339 date-time with an offset (e.g. "
                                "2026-11-28T07:00:00Z), not \"" +
                                    *since + "\"",
                                call.path, "since");
          }
          since = timestamptz_literal(*micros);
        }
        return admin_job(call, [id = id_of(call), since = std::move(since)](WebhookAdmin& admin) {
          return json_reply(200, webhooks::replayed_json(admin.replay(id, since)));
        });
      });
}

}  // namespace handlers

}  // namespace millrace::api
