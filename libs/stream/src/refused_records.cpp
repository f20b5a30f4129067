#include "millrace/stream/refused_records.hpp"

#include "millrace/pg/array.hpp"

namespace millrace::stream {

void store_refused(pqxx::work& tx, const std::string& group, const std::string& topic,
                   const std::vector<RefusedRecord>& records) {
  if (records.empty()) return;
  pg::ArrayLiteral partitions, offsets, states, messages, payloads;
  for (const auto& r : records) {
    partitions.add(r.partition);
    offsets.add(r.offset);
    states.add(r.sqlstate);
    messages.add(r.message);
    payloads.add(r.payload);
  }
  tx.exec_params(
      "INSERT INTO refused_records (group_id, topic, partition, kafka_offset, sqlstate, "
      "db_message, payload) SELECT $1, $2, * FROM unnest($3::integer[], $4::bigint[], "
      "$5::text[], $6::text[], $7::text[]) ON CONFLICT DO NOTHING",
      group, topic, partitions.take(), offsets.take(), states.take(), messages.take(),
      payloads.take());
}

}  // namespace millrace::stream
