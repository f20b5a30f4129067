#pragma once

// The change feed under test: a publication and slot of its own for one
// Pipeline's schema, a changes topic of its own, the real
// millrace-changefeed process, and a read_committed reader of what it
// published.

#include <chrono>
#include <functional>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "harness.hpp"
#include "millrace/kafka/consumer.hpp"
#include "pipeline.hpp"

namespace millrace::testing {

// One published change, as a read_committed consumer sees it.
struct ChangeRecord {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;    // the Kafka key: {"table":...,"key":{...}}
  std::string value;  // the change's JSON
  std::string id, op, table;
  std::string header_id;  // the millrace.change_id header
};

// A schema of its own holding one table, t (id int, v text), published
// under the schema's name; `start` streams a slot of that name from it.
// Dropped again at the end, when the test got that far or not.
struct Published {
  Published(const StackEnv& env, std::string_view prefix)
      : name(unique_name(prefix)), table("\"" + name + "\".t"), owner(env.pg) {
    exec("CREATE SCHEMA \"" + name + "\"");
    exec("CREATE TABLE " + table + " (id int PRIMARY KEY, v text)");
    exec("CREATE PUBLICATION \"" + name + "\" FOR TABLE " + table);
    start = "START_REPLICATION SLOT \"" + name +
            "\" LOGICAL 0/0 (proto_version '1', publication_names '\"" + name + "\"')";
  }
  ~Published() {
    try {
      exec("DROP PUBLICATION \"" + name + "\"");
      exec("DROP SCHEMA \"" + name + "\" CASCADE");
    } catch (const std::exception&) {  // not dropped: a name of its own, in a test stack
    }
  }
  Published(const Published&) = delete;
  Published& operator=(const Published&) = delete;

  void exec(const std::string& sql) {
    pqxx::work tx(owner);
    tx.exec(sql);
    tx.commit();
  }

  const std::string name;
  const std::string table;
  std::string start;
  pqxx::connection owner;
};

class ChangeFeedRig {
 public:
  // Publishes `tables` of the pipeline's schema (created as the owner) and
  // creates the changes topic with `partitions` partitions.
  ChangeFeedRig(Pipeline& pipeline, const std::vector<std::string>& tables,
                std::int32_t partitions = 4);
  // Publishes `tables` again, granting the feed's role SELECT on them (what
  // the initial snapshot needs).
  void grant_select(const std::vector<std::string>& tables);
  // Drops the slot and the publication (the feed must be stopped), so no
  // slot is left holding the test stack's WAL.
  ~ChangeFeedRig();

  std::string publication, slot, topic;

  Child start(const std::string& name, const std::map<std::string, std::string>& extra = {});
  // Waits (REQUIREs) until a feed streams from the slot, once it is
  // consistent (created and past every transaction running at its start). Without an initial
  // snapshot, changes committed before the slot's first creation are not
  // published: such a test writes only after this.
  void wait_streaming() const;
  // Every change on the topic, read as read_committed: waits until at least
  // `at_least` arrived (REQUIREs it), then until none more comes for 3 s.
  std::vector<ChangeRecord> read_all(
      std::size_t at_least, std::chrono::seconds timeout = std::chrono::seconds(180)) const;

 private:
  void publish(const std::vector<std::string>& tables, const std::vector<std::string>& extra_args);
  Pipeline& pipeline_;
  FailureNote slot_note_;  // the slot's and its walsender's positions, at a failure
};

// Hands every record of `topics` to `take` as a read_committed consumer of
// a new group reads them: waits until `at_least` came (REQUIREs it), then
// until none more comes for 3 s. Returns how many.
std::size_t read_committed(const std::string& brokers, const std::vector<std::string>& topics,
                           std::size_t at_least, std::chrono::seconds timeout,
                           const std::function<void(const kafka::Message&)>& take);

// The records in the order PostgreSQL committed them (their ids' order
// across the topic): what a consumer applying every record in order sees.
// Per-partition order alone does not order an update that changed a key
// (one record, on the new key's partition) against the old key's records.
std::vector<const ChangeRecord*> in_commit_order(const std::vector<ChangeRecord>& records);

// Checks (Catch2) that no change id repeats, that every record's header
// matches its id, and that each key's changes arrive in commit order (ids
// increase along each partition for one key). Returns the ids.
std::vector<std::string> check_exactly_once_in_order(const std::vector<ChangeRecord>& records);

}  // namespace millrace::testing
