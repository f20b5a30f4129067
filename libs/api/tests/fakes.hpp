#pragma once

// Fakes behind millrace-api's ports: a request as the HTTP server would
// hand it over, and a Backend that records what the routing asked of it.

#include <map>
#include <optional>
#include <string>
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
    for (const auto& [k, v] : headers_) {
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          })) {
        return std::string_view(v);
      }
    }
    return std::nullopt;
  }
  std::string_view body() const override { return body_; }

 private:
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

 private:
  void maybe_fail() {
    if (failure) throw *failure;
  }
};

}  // namespace millrace::api::testing
