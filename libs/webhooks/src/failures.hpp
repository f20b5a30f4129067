#pragma once

// What a failed attempt does to its endpoint, the same whoever made it (a
// delivery worker, or the consumer sending its batch's deliveries itself:
// direct.hpp): 410 Gone disables the endpoint, and any failure starts its
// failing time, which disables it once longer than its disable_after.

#include <cstdint>
#include <pqxx/pqxx>
#include <string>

#include "millrace/webhooks/schedule.hpp"
#include "queue.hpp"

namespace millrace::webhooks::detail {

// In `tx`, for an attempt to `endpoint` that failed `age_ms` ago with
// `decision` (not a delivery); `delivered_before`: the same run of
// attempts delivered some before it, which ends the earlier failing time.
// Returns why the endpoint was disabled for failing too long, if it was now.
std::string endpoint_failed(pqxx::work& tx, std::int64_t endpoint, const Decision& decision,
                            std::int64_t age_ms, bool delivered_before);

// An attempt at queued delivery `delivery` (its row's id) that was not a
// delivery (`rec`: a retry, a failure, or one that disables the endpoint),
// stored on its row and then on its endpoint as endpoint_failed() does.
// Returns what endpoint_failed() returns.
std::string attempt_failed(pqxx::work& tx, std::int64_t endpoint, std::int64_t delivery,
                           const Recorded& rec, std::int64_t age_ms, bool delivered_before);

}  // namespace millrace::webhooks::detail
