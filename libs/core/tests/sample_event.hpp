#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/core/contract.hpp"
#include "millrace/core/event.hpp"

namespace millrace::core::testing {

// Empty when equal, else the names of the fields that differ: a readable
// failure message for whole-event comparisons.
inline std::string event_diff(const StoreEvent& a, const StoreEvent& b) {
  std::string diff;
  auto field = [&](bool same, const char* name) {
    if (!same) diff += std::string(diff.empty() ? "" : ", ") + name;
  };
  field(a.id == b.id, "id");
  field(a.request_id == b.request_id, "request_id");
  field(a.store_id == b.store_id, "store_id");
  field(a.store_fqdn == b.store_fqdn, "store_fqdn");
  field(a.store_ip == b.store_ip, "store_ip");
  field(a.cust_id == b.cust_id, "cust_id");
  field(a.category == b.category, "category");
  field(a.sku == b.sku, "sku");
  field(a.price == b.price, "price");
  field(a.qty == b.qty, "qty");
  field(a.discount == b.discount, "discount");
  field(a.gift_wrap == b.gift_wrap, "gift_wrap");
  field(a.variant == b.variant, "variant");
  field(a.priority_shipping == b.priority_shipping, "priority_shipping");
  field(a.ts == b.ts, "ts");
  field(a.contact_me == b.contact_me, "contact_me");
  field(a.is_return == b.is_return, "is_return");
  field(a.event_type == b.event_type, "event_type");
  return diff;
}

// The contract's sample message as (key, raw JSON value) pairs, so tests can
// drop or replace one member and render the rest unchanged.
class SampleBody {
 public:
  SampleBody()
      : members_{
            {"id", "\"743da362-69df-4e63-a95f-a1d93e29825e\""},
            {"request_id", "\"743da362-69df-4e63-a95f-a1d93e29825e\""},
            {"store_id", "5"},
            {"store_fqdn", "\"localhost\""},
            {"store_ip", "\"127.0.0.1\""},
            {"cust_id", "549"},
            {"category", "\"Notebooks\""},
            {"sku", "169008"},
            {"price", "45.85"},
            {"qty", "34"},
            {"discount", "10.3"},
            {"gift_wrap", "true"},
            {"variant", "\"red\""},
            {"priority_shipping", "false"},
            {"ts", "\"2023-05-19T14:36:09.985501\""},
            {"contact_me", "\"github.com/miztiik\""},
            {"is_return", "true"},
        } {}

  static const std::vector<std::string>& required_fields() {
    static const std::vector<std::string> kFields = [] {
      std::vector<std::string> names;
      for (const auto name : millrace::core::required_names()) names.emplace_back(name);
      return names;
    }();
    return kFields;
  }

  SampleBody& set(std::string_view key, std::string raw) {
    for (auto& [k, v] : members_) {
      if (k == key) {
        v = std::move(raw);
        return *this;
      }
    }
    members_.emplace_back(std::string(key), std::move(raw));
    return *this;
  }
  SampleBody& remove(std::string_view key) {
    std::erase_if(members_, [&](const auto& m) { return m.first == key; });
    return *this;
  }
  SampleBody& append(std::string key, std::string raw) {
    members_.emplace_back(std::move(key), std::move(raw));
    return *this;
  }

  // Member order must not matter to a parser.
  SampleBody& reverse() {
    std::reverse(members_.begin(), members_.end());
    return *this;
  }

  std::string str() const {
    std::string out = "{";
    for (std::size_t i = 0; i < members_.size(); ++i) {
      if (i != 0) out += ", ";
      out += "\"" + members_[i].first + "\": " + members_[i].second;
    }
    return out + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> members_;
};

}  // namespace millrace::core::testing
