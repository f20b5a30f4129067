#include "routing.hpp"

#include <rapidjson/document.h>

#include <algorithm>

#include "exact_json.hpp"
#include "filter.hpp"
#include "ingest.hpp"
#include "millrace/runtime/log.hpp"
#include "wire.hpp"

namespace millrace::webhooks::detail {

namespace {

std::vector<std::string> json_strings(const char* text) {
  std::vector<std::string> out;
  if (text == nullptr) return out;
  rapidjson::Document doc;
  doc.Parse(text);
  if (!doc.IsArray()) return out;
  for (const auto& v : doc.GetArray()) {
    if (v.IsString()) out.emplace_back(v.GetString(), v.GetStringLength());
  }
  return out;
}

bool contains(const std::vector<std::string>& items, std::string_view item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

}  // namespace

bool takes_by_name(const Subscription& s, const ChangeFacts& change) {
  if (!change.audience.empty() && change.audience != "webhooks:" + std::to_string(s.id)) {
    return false;
  }
  if (!s.ops.empty() && !contains(s.ops, change.op)) return false;
  if (s.tables.empty()) return true;
  if (contains(s.tables, change.table)) return true;
  const auto dot = change.table.find('.');
  return dot != std::string::npos && contains(s.tables, change.table.substr(dot + 1));
}

const std::vector<Subscription>& Subscriptions::load(pqxx::work& tx) {
  const auto rows = tx.exec(
      "SELECT id, array_to_json(tables)::text, array_to_json(ops)::text, filter::text "
      "FROM webhook_endpoints ORDER BY id");
  current_.clear();
  current_.reserve(rows.size());
  for (const auto& r : rows) {
    Subscription s;
    s.id = r[0].as<std::int64_t>();
    s.tables = json_strings(r[1].is_null() ? nullptr : r[1].c_str());
    s.ops = json_strings(r[2].is_null() ? nullptr : r[2].c_str());
    if (!r[3].is_null()) {
      const std::string text = r[3].c_str();
      if (const auto it = parsed_.find(text); it != parsed_.end()) {
        s.filter = it->second;
      } else if (const auto bad = broken_.find(text); bad != broken_.end()) {
        s.broken = bad->second;
      } else {
        try {
          s.filter = parsed_.emplace(text, std::make_shared<const Filter>(Filter::parse(text)))
                         .first->second;
        } catch (const std::invalid_argument& e) {
          s.broken = e.what();
          broken_.emplace(text, s.broken);
          runtime::log_error("webhooks", "endpoint " + std::to_string(s.id) +
                                             ": its stored filter is not one Event Grid takes (" +
                                             s.broken +
                                             "); it receives nothing until it is updated");
        }
      }
    }
    current_.push_back(std::move(s));
  }
  return current_;
}

Routes route(const std::vector<Subscription>& subscriptions,
             const std::vector<const ChangeFacts*>& changes,
             const std::vector<std::int32_t>& partitions, const std::string& source_prefix) {
  Routes out;
  out.endpoints.resize(changes.size());
  rapidjson::Document change;  // reused: its allocator keeps its memory
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const ChangeFacts& c = *changes[i];
    // The event a filter sees, read once per change and only when some
    // endpoint has a filter.
    std::optional<EventAttributes> attributes;
    const rapidjson::Value* data = nullptr;
    const auto event = [&]() -> FilterEvent {
      if (!attributes) {
        const auto raw = standard_data(c.body);
        parse_exact(change, raw ? std::string_view(*raw) : std::string_view("null"));
        attributes = attributes_of(change, source_prefix);
        data = change.IsObject() ? &change : nullptr;
      }
      return {attributes->id,      attributes->source, attributes->type,
              attributes->subject, attributes->time,   data};
    };
    for (const auto& s : subscriptions) {
      const bool mine = c.audience.empty() || c.audience == "webhooks:" + std::to_string(s.id);
      bool takes = takes_by_name(s, c) && s.broken.empty();
      if (takes && s.filter) takes = s.filter->matches(event());
      if (takes) {
        out.endpoints[i].push_back(s.id);
      } else if (mine) {
        ++out.filtered[{s.id, partitions[i]}];
      }
    }
  }
  return out;
}

}  // namespace millrace::webhooks::detail
