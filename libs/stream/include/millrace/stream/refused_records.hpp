#pragma once

// Records PostgreSQL refused (--errors-tolerance all), kept in
// refused_records with its reason, in the transaction that commits their
// offsets: a consumer's handler sets them aside in refuse() and stores them
// at its next write(). A replayed batch refuses the same records again;
// each is stored once.

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::stream {

struct RefusedRecord {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string_view sqlstate, message, payload;
};

// Caller contract: `tx` is the batch's transaction; the views must outlive
// the call.
void store_refused(pqxx::work& tx, const std::string& group, const std::string& topic,
                   const std::vector<RefusedRecord>& records);

}  // namespace millrace::stream
