#pragma once

// Debezium's transaction metadata (provide.transaction.metadata): the BEGIN
// and END records of a transaction on <prefix>.transaction.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "millrace/changefeed/debezium.hpp"
#include "millrace/changefeed/record_format.hpp"

namespace millrace::changefeed::debezium {

// The transaction whose events are being encoded, with transaction metadata.
struct OpenTransaction {
  std::string id;
  std::int64_t commit_ms = 0;
  std::uint64_t events = 0;
  std::vector<std::pair<std::string, std::uint64_t>> tables;  // in order of first event
};

// The record of `tx` with `status` BEGIN or END (with its event counts).
OutRecord transaction_record(const Options& options, const OpenTransaction& tx, const char* status);

}  // namespace millrace::changefeed::debezium
