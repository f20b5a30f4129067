#pragma once

// Writing a batch's records of a declared kind (kinds/declaration.hpp) into
// its tables, inside the batch's transaction: the records and their lines
// are COPYed into staging tables, then moved with INSERT ... ON CONFLICT on
// the kind's identities (kind_identities: the tables are partitioned by
// time, so their keys hold it); a line goes in only with the record row it
// came with, so a resend stores neither again, whatever its time. The
// resends are re-counted `duplicate`.
// Personal-data fields are written as MILLRACE_<KIND>_PII says.

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "dead_letters.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/pg/copy.hpp"
#include "millrace/stream/batch.hpp"

namespace millrace::sink::detail {

// A valid record with the Kafka record it came from.
struct KindRow : Consumed {
  kinds::Record record;
};

// A record's time (its declaration's time field), in microseconds since the
// epoch: what its partition and the retention are judged on.
std::int64_t record_time(const kinds::Declaration& d, const KindRow& row);

// HMAC-SHA256 of `value` under `key`, in lower-case hex.
std::string pii_hash(std::string_view key, std::string_view value);

class KindRows {
 public:
  // `declaration` must outlive this.
  KindRows(const kinds::Declaration& declaration, kinds::PiiMode pii, std::string pii_key,
           std::string topic);

  // On each new connection: the session's staging tables.
  void prepare(pqxx::connection& connection) const;

  // Writes `rows` (all tallied `persisted`); those whose identity is stored
  // already move to `duplicate` in `batch`'s tallies. Returns how many.
  std::uint64_t write(pqxx::work& tx, stream::Batch& batch,
                      const std::vector<const KindRow*>& rows);

 private:
  void append(pg::CopyText& out, const kinds::FieldDecl& field, const kinds::Value& value) const;

  const kinds::Declaration& d_;
  kinds::PiiMode pii_;
  std::string pii_key_;
  std::string topic_;
  std::string insert_sql_;
  std::vector<std::string> record_columns_, line_columns_;
};

}  // namespace millrace::sink::detail
