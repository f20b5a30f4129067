#pragma once

// Fakes behind millrace-api's ports: a request as the HTTP server would
// hand it over, and a Backend (with its catalog reads and webhook admin)
// that records what the routing asked of it.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/core/failure.hpp"
#include "millrace/httpd/server.hpp"
#include "ports.hpp"

namespace millrace::api::testing {

class FakeRequest final : public httpd::Request {
 public:
  FakeRequest(std::string method, std::string target,
              std::map<std::string, std::string> headers = {}, std::string body = {})
      : method_(std::move(method)),
        target_(std::move(target)),
        headers_(std::move(headers)),
        body_(std::move(body)) {}

  std::string_view method() const override { return method_; }
  std::string_view path() const override {
    return std::string_view(target_).substr(0, target_.find('?'));
  }
  std::string_view query() const override {
    const auto q = target_.find('?');
    return q == std::string::npos ? std::string_view() : std::string_view(target_).substr(q + 1);
  }
  std::optional<std::string_view> header(std::string_view name) const override {
    // As the server's requests (libs/httpd/src/parsed_request.cpp): only
    // the headers it keeps may be asked for.
    static constexpr std::string_view kKept[] = {"Content-Type", "Authorization", "X-Event-Type",
                                                 "Accept",       "Cookie",        "Last-Event-ID"};
    if (std::none_of(std::begin(kKept), std::end(kKept),
                     [&](std::string_view kept) { return same_name(kept, name); })) {
      throw std::logic_error("header not kept by the HTTP server: " + std::string(name));
    }
    for (const auto& [k, v] : headers_) {
      if (same_name(k, name)) return std::string_view(v);
    }
    return std::nullopt;
  }
  std::string_view body() const override { return body_; }

 private:
  static bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  }

  std::string method_, target_;
  std::map<std::string, std::string> headers_;
  std::string body_;
};

class FakeReads final : public catalog::Reads {
 public:
  std::map<std::string, std::string, std::less<>> categories_by_name;
  std::map<std::int64_t, std::string> products_by_sku;
  std::optional<std::string> category(std::string_view name) override {
    const auto it = categories_by_name.find(name);
    if (it == categories_by_name.end()) return std::nullopt;
    return it->second;
  }
  std::string categories() override { return R"({"categories":[]})"; }
  std::optional<std::string> product(std::int64_t sku) override {
    const auto it = products_by_sku.find(sku);
    if (it == products_by_sku.end()) return std::nullopt;
    return it->second;
  }
};

// Webhook endpoints in memory, refusing as admin.hpp does: NotFound for an
// id it does not hold, std::invalid_argument with `refusal` when set.
class FakeWebhookAdmin final : public WebhookAdmin {
 public:
  // What it holds.
  std::map<std::int64_t, webhooks::Endpoint> stored;
  std::vector<webhooks::DeliveryRecord> delivery_log;
  std::int64_t replayable = 0;  // what replay() answers
  std::optional<std::string> refusal;
  // What the routing asked for.
  std::vector<webhooks::NewEndpoint> added;
  std::vector<std::pair<std::int64_t, webhooks::EndpointChange>> changes;
  struct Activation {
    std::int64_t endpoint;
    bool active;
    std::string reason;
  };
  std::vector<Activation> activations;
  struct Rotation {
    std::int64_t endpoint;
    std::chrono::seconds overlap;
    std::string secret;
  };
  std::vector<Rotation> rotations;
  struct DeliveriesAsked {
    std::int64_t endpoint;
    bool failed_only;
    std::int64_t limit;
    std::optional<std::int64_t> before;
  };
  std::vector<DeliveriesAsked> deliveries_asked;
  std::vector<std::pair<std::int64_t, std::optional<std::string>>> replays;

  webhooks::AddedEndpoint add(const webhooks::NewEndpoint& e) override {
    refuse_if_told();
    added.push_back(e);
    webhooks::Endpoint stored_endpoint;
    stored_endpoint.id = stored.empty() ? 1 : stored.rbegin()->first + 1;
    stored_endpoint.url = e.url;
    stored_endpoint.description = e.description;
    stored_endpoint.tables = e.tables;
    stored_endpoint.ops = e.ops;
    stored_endpoint.ordering = e.ordering;
    stored_endpoint.format = e.format;
    stored_endpoint.filter = e.filter;
    stored_endpoint.rate_limit = e.rate_limit;
    stored_endpoint.disable_after_s = e.disable_after_s;
    stored_endpoint.created_at = "2026-11-28T07:00:00.000000Z";
    stored[stored_endpoint.id] = stored_endpoint;
    return {stored_endpoint.id, e.secret.empty() ? "whsec_made" : e.secret};
  }
  void update(std::int64_t id, const webhooks::EndpointChange& c) override {
    auto& e = held(id);
    refuse_if_told();
    changes.emplace_back(id, c);
    if (c.url) e.url = *c.url;
    if (c.description) e.description = *c.description;
    if (c.filter) e.filter = *c.filter;
    if (c.rate_limit) e.rate_limit = *c.rate_limit;
  }
  std::vector<webhooks::Endpoint> endpoints(std::optional<std::int64_t> id) override {
    if (id) return {held(*id)};
    std::vector<webhooks::Endpoint> out;
    for (const auto& [_, e] : stored) out.push_back(e);
    return out;
  }
  void set_active(std::int64_t id, bool active, const std::string& reason) override {
    auto& e = held(id);
    activations.push_back({id, active, reason});
    e.active = active;
    e.disabled_reason = active ? "" : (reason.empty() ? "disabled by an operator" : reason);
  }
  std::string rotate_secret(std::int64_t id, std::chrono::seconds overlap,
                            const std::string& secret) override {
    auto& e = held(id);
    refuse_if_told();
    rotations.push_back({id, overlap, secret});
    e.previous_secret_valid = overlap.count() > 0;
    return secret.empty() ? "whsec_rotated" : secret;
  }
  std::vector<webhooks::DeliveryRecord> deliveries(std::int64_t id, bool failed_only,
                                                   std::int64_t limit,
                                                   std::optional<std::int64_t> before) override {
    held(id);
    deliveries_asked.push_back({id, failed_only, limit, before});
    std::vector<webhooks::DeliveryRecord> out;
    for (const auto& d : delivery_log) {
      if (d.endpoint == id && (!failed_only || d.status == "failed") && (!before || d.id < *before))
        out.push_back(d);
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id > b.id; });
    if (static_cast<std::int64_t>(out.size()) > limit) out.resize(static_cast<std::size_t>(limit));
    return out;
  }
  std::int64_t replay(std::int64_t id, const std::optional<std::string>& since) override {
    held(id);
    refuse_if_told();
    replays.emplace_back(id, since);
    return replayable;
  }

 private:
  webhooks::Endpoint& held(std::int64_t id) {
    const auto it = stored.find(id);
    if (it == stored.end()) throw webhooks::NotFound("no webhook endpoint " + std::to_string(id));
    return it->second;
  }
  void refuse_if_told() {
    if (refusal) throw std::invalid_argument(*refusal);
  }
};

class FakeBackend final : public Backend {
 public:
  // What the routing asked for.
  std::vector<ViewQuery> reads;
  std::vector<catalog::Record> created, put_records;
  std::vector<std::pair<catalog::Table, std::string>> removed;
  // What it answers.
  Rows rows;
  WriteResult result{WriteOutcome::kCreated, R"({"stored":true})", ""};
  std::optional<core::InfraError> failure;
  FakeReads fake_reads;
  FakeWebhookAdmin fake_webhooks;

  Rows read(const ViewQuery& q) override {
    maybe_fail();
    reads.push_back(q);
    return rows;
  }
  catalog::Reads& catalog() override {
    maybe_fail();
    return fake_reads;
  }
  WriteResult create(const catalog::Record& r) override {
    maybe_fail();
    created.push_back(r);
    return result;
  }
  WriteResult put(const catalog::Record& r) override {
    maybe_fail();
    put_records.push_back(r);
    return result;
  }
  WriteResult remove(catalog::Table t, const std::string& key) override {
    maybe_fail();
    removed.emplace_back(t, key);
    return result;
  }
  WebhookAdmin& webhooks() override {
    maybe_fail();
    return fake_webhooks;
  }

 private:
  void maybe_fail() {
    if (failure) throw *failure;
  }
};

}  // namespace millrace::api::testing
