#pragma once

#include <cstdint>
#include <string_view>

namespace millrace::core {

// What became of a consumed record: each one gets exactly one, committed with
// its offset. The codes outcome_code() returns are a public interface: they
// are summed into record_outcomes (partition_accounting's columns) and label
// millrace_records_outcome_total.
enum class Outcome : std::uint8_t {
  kPersisted,  // stored: a store_events row (sink), counted into the views (aggregator)
  kFiltered,   // valid, but not kept (sink: wrong type or discount too small)
  kRejected,   // invalid, or refused by PostgreSQL: dead-lettered, or in refused_records
  kDuplicate,  // its id was stored before
  kLate,       // its window had closed (aggregator): in late_events
  kLost,       // never read: retention deleted it first (MILLRACE_ON_OFFSET_GAP=skip)
  kExpired,    // older than the store's retention (MILLRACE_STORE_RETENTION_DAYS): not stored
};
inline constexpr int kOutcomeCount = 7;

std::string_view outcome_code(Outcome outcome);

}  // namespace millrace::core
