#pragma once

// Which endpoints each change goes to: an endpoint's tables, operations and
// Event Grid filter (filter.hpp), and a backfill's audience, all matched
// here, before a delivery is enqueued, so a change no endpoint wants costs
// no delivery row. What each endpoint left out is counted
// (webhook_filtered).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace millrace::webhooks::detail {

struct ChangeFacts;
class Filter;

struct Subscription {
  std::int64_t id = 0;
  std::vector<std::string> tables;  // empty: every table
  std::vector<std::string> ops;     // empty: every operation
  // The endpoint's filter; null with none. A stored filter that does not
  // parse (none can be written through `millrace webhooks` or the API)
  // matches nothing, with `broken` saying why.
  std::shared_ptr<const Filter> filter;
  std::string broken;
};

// Whether `s` takes `change` by its table, operation and audience (not its
// filter).
bool takes_by_name(const Subscription& s, const ChangeFacts& change);

// The endpoints as they are in `tx`'s snapshot, their filters parsed once
// per text and kept between batches.
class Subscriptions {
 public:
  // Reads webhook_endpoints. Calls `on_broken` once per stored filter that
  // does not parse.
  const std::vector<Subscription>& load(pqxx::work& tx);

 private:
  std::map<std::string, std::shared_ptr<const Filter>> parsed_;  // by the filter's text
  std::map<std::string, std::string> broken_;                    // text: why
  std::vector<Subscription> current_;
};

// What routing one batch came to.
struct Routes {
  // Per change, in order: the endpoints it goes to, in id order.
  std::vector<std::vector<std::int64_t>> endpoints;
  // Changes each endpoint left out, per partition of the change topic.
  std::map<std::pair<std::int64_t, std::int32_t>, std::int64_t> filtered;
};

// Routes `changes` (each read from `partitions[i]`) to `subscriptions`.
// A change meant for one endpoint (a backfill's audience) is not counted as
// left out by the others. `source_prefix` makes the changes' CloudEvents
// source, which filters may read (wire.hpp).
Routes route(const std::vector<Subscription>& subscriptions,
             const std::vector<const ChangeFacts*>& changes,
             const std::vector<std::int32_t>& partitions, const std::string& source_prefix);

}  // namespace millrace::webhooks::detail
