#include "debezium_transaction.hpp"

#include <string>
#include <string_view>

#include "millrace/core/json_string.hpp"

namespace millrace::changefeed::debezium {

namespace {

// The transaction topic's key and value with JsonConverter's schemas, up to
// "payload":, as Debezium's TransactionMetadataKey and ...Value.
constexpr std::string_view kTransactionKeySchema =
    R"({"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"}],)"
    R"("optional":false,"name":"io.debezium.connector.common.TransactionMetadataKey","version":1},)"
    R"("payload":)";
constexpr std::string_view kTransactionValueSchema =
    R"({"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"status"},)"
    R"({"type":"string","optional":false,"field":"id"},)"
    R"({"type":"int64","optional":true,"field":"event_count"},)"
    R"({"type":"array","items":{"type":"struct","fields":[)"
    R"({"type":"string","optional":false,"field":"data_collection"},)"
    R"({"type":"int64","optional":false,"field":"event_count"}],"optional":true,)"
    R"("name":"event.collection","version":1},)"
    R"("optional":true,"field":"data_collections"},)"
    R"({"type":"int64","optional":false,"field":"ts_ms"}],)"
    R"("optional":false,"name":"io.debezium.connector.common.TransactionMetadataValue",)"
    R"("version":1},"payload":)";

}  // namespace

OutRecord transaction_record(const Options& options, const OpenTransaction& tx,
                             const char* status) {
  const bool end = std::string_view(status) == "END";
  std::string key = "{\"id\":";
  core::append_json_string(key, tx.id);
  key += '}';
  std::string payload = "{\"status\":\"";
  payload += status;
  payload += "\",\"id\":";
  core::append_json_string(payload, tx.id);
  if (end) {
    payload += ",\"event_count\":" + std::to_string(tx.events) + ",\"data_collections\":[";
    bool first = true;
    for (const auto& [table, n] : tx.tables) {
      if (!first) payload += ',';
      first = false;
      payload += "{\"data_collection\":";
      core::append_json_string(payload, table);
      payload += ",\"event_count\":" + std::to_string(n) + "}";
    }
    payload += ']';
  } else {
    payload += ",\"event_count\":null,\"data_collections\":null";
  }
  payload += ",\"ts_ms\":" + std::to_string(tx.commit_ms) + "}";
  OutRecord r;
  r.topic = options.prefix + ".transaction";
  if (options.schemas) {
    r.key = std::string(kTransactionKeySchema) + key + "}";
    r.value = std::string(kTransactionValueSchema) + payload + "}";
  } else {
    r.key = std::move(key);
    r.value = std::move(payload);
  }
  return r;
}

}  // namespace millrace::changefeed::debezium
