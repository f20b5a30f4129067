#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "millrace/reference/contract.hpp"
#include "millrace/reference/store_event.hpp"

namespace millrace::core::testing {

// Empty when equal, else the names of the fields that differ: a readable
// failure message for whole-event comparisons.
inline std::string event_diff(const StoreEvent& a, const StoreEvent& b) {
  std::string diff;
  for (int i = 0; i < kFieldCount; ++i) {
    const auto f = static_cast<Field>(i);
    const bool same =
        std::visit([&](auto member) { return a.*member == b.*member; }, spec(f).member);
    if (!same) diff += std::string(diff.empty() ? "" : ", ") + std::string(field_name(f));
  }
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
        } {
    // A field the list above does not name yet (one just added to the
    // contract) gets a valid value from its type and bounds.
    for (const auto& f : kStoreEventFields) {
      if (!f.required || has(f.name)) continue;
      members_.emplace_back(std::string(f.name), sample_value(f));
    }
  }

  static std::string sample_value(const FieldSpec& f) {
    switch (f.type) {
      case FieldType::kUuid:
        return "\"643da362-69df-4e63-a95f-a1d93e29825e\"";
      case FieldType::kText:
      case FieldType::kFreeText:
        return "\"sample\"";
      case FieldType::kIp:
        return "\"127.0.0.2\"";
      case FieldType::kInteger:
      case FieldType::kDecimal:
        return std::to_string(f.min);
      case FieldType::kBoolean:
        return "false";
      case FieldType::kTimestamp:
        return "\"2023-05-19T14:36:09Z\"";
      case FieldType::kEventType:
        return "\"inventory_event\"";
    }
    return "null";
  }

  bool has(std::string_view key) const {
    return std::any_of(members_.begin(), members_.end(),
                       [&](const auto& m) { return m.first == key; });
  }

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
