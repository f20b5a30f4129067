#pragma once

// millrace-webhooks under test: its process on a ChangeFeedRig's topic,
// endpoints registered through the real CLI, and the checks every webhook
// test makes of what a receiver got.

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "changes.hpp"
#include "pipeline.hpp"
#include "receiver.hpp"

namespace millrace::testing {

// `millrace migrate` on the pipeline's schema, then CREATE TABLE `table`
// ("name (columns)") in it (REQUIREs both).
void migrate_with_table(const Pipeline& pipeline, const std::string& table);

// The webhooks service for `rig`'s topic, allowed to post to 127.0.0.1,
// with `schedule` as its retry schedule (empty: MILLRACE_WEBHOOKS_RETRY_SCHEDULE
// not set, so a config file or the default says).
Child start_webhooks(Pipeline& pipeline, const ChangeFeedRig& rig, const std::string& name,
                     const std::string& schedule,
                     const std::map<std::string, std::string>& extra = {});

// `millrace webhooks add` with these flags (plus --allow-private); returns
// the endpoint's id (REQUIREs success).
std::int64_t add_endpoint(const Pipeline& pipeline, const std::string& url,
                          const std::string& secret, const std::vector<std::string>& flags = {});

// What most webhook tests start from: a pipeline whose schema holds `items
// (id int PRIMARY KEY, name text, qty int)`, the change feed streaming it to
// a topic of `partitions` partitions, and a receiver for the endpoints. A
// test's own objects that the receiver's scripts use must outlive it: declare
// them before this, or stop the service (declared after it) first.
struct ItemsWebhooks {
  explicit ItemsWebhooks(std::string_view prefix, std::int32_t partitions = 4);

  Pipeline p;
  ChangeFeedRig rig;
  Child feed;
  Receiver rx;

  // A new secret the receiver checks `path`'s requests against.
  std::string secure(const std::string& path);
  // secure(path), and an endpoint for rx.url(path) with that secret and
  // `flags` (add_endpoint); returns its id.
  std::int64_t endpoint(const std::string& path, const std::vector<std::string>& flags = {});
  // start_webhooks() for this rig.
  Child start(const std::string& schedule, const std::map<std::string, std::string>& extra = {},
              const std::string& name = "webhooks");
};

// The sum of a metric's samples (those whose labels include `match`) as
// `service` serves them; -1 while it does not serve yet.
double metric_of(const Child& service, const std::string& name,
                 const std::map<std::string, std::string>& match = {});

// The one number `query` gives, run in the pipeline's schema.
std::int64_t sql_count(const Pipeline& pipeline, const std::string& query);
// The one value `query` gives, as text, run in the pipeline's schema.
std::string sql_text(const Pipeline& pipeline, const std::string& query);
// INSERTs rows `from` to `to` - 1 into the schema's `items`, in one
// transaction: each (id, `rest`), `rest` the other columns' SQL values.
void insert_items(const Pipeline& pipeline, int from, int to, const std::string& rest);

// Any other `millrace webhooks` command; returns its stdout (REQUIREs exit 0).
std::string webhooks_cli(const Pipeline& pipeline, const std::vector<std::string>& args);

// Checks (Catch2) that `ids` (a receiver's accepted ids in arrival order,
// repeats dropped) hold each of `expected` once, and that each key's changes
// came in commit order. Returns how many repeats were dropped.
std::size_t check_each_once_in_key_order(const std::vector<std::string>& ids,
                                         const std::vector<ChangeRecord>& expected);

// How a receiver's accepted ids (arrival order, repeats included) compare
// with the changes it should have had.
struct OrderReport {
  std::size_t repeats = 0;  // an id accepted again (at-least-once re-sends)
  std::size_t missing = 0, unknown = 0;
  std::size_t out_of_key_order = 0;     // after a later change of its own key
  std::size_t out_of_commit_order = 0;  // after a change committed later, any key
  std::string first_inversion;          // "A after B", for the log
};
OrderReport order_report(const std::vector<std::string>& ids,
                         const std::vector<ChangeRecord>& expected);

}  // namespace millrace::testing
