#pragma once

#include <chrono>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "millrace/pg/options.hpp"
#include "queue.hpp"

namespace millrace::webhooks::detail {

// The queue in PostgreSQL, on one connection of its own (one per worker).
// Reconnects on the next call after a failure; failures are thrown as
// core::InfraError classed by SQLSTATE.
// Whose marks say how far the change topic was read, for the endpoints in
// commit order (read_marks.hpp).
struct MarkScope {
  std::string group;
  std::string topic;
};

class PgQueue final : public Queue {
 public:
  // A claim may take an endpoint whose rate limit lets its next delivery go
  // within `max_rate_pause` (DispatchRules::max_rate_pause).
  PgQueue(pg::PgOptions options, std::string application_name, MarkScope marks,
          std::chrono::milliseconds max_rate_pause = std::chrono::milliseconds(1000));
  ~PgQueue() override;

  std::optional<Claim> claim(std::int64_t lease_ms, int max) override;
  Stored record(const Claim& claim, std::span<const Recorded> recorded, std::int64_t lease_ms,
                bool release, RateWait rate) override;
  std::optional<std::vector<Delivery>> record_and_continue(const Claim& claim,
                                                           std::span<const Recorded> recorded,
                                                           std::int64_t lease_ms, int max,
                                                           RateWait rate) override;
  QueueStats stats() override;
  // The database it connects to (current_database()).
  std::string database();
  std::int64_t prune_delivered(std::int64_t keep_s) override;

 private:
  pqxx::connection& connection();
  // `body` in a transaction of type Tx (pqxx::work, or pqxx::nontransaction,
  // where each statement commits by itself); failures reset the connection
  // and are thrown classified.
  template <typename Tx, typename Body>
  auto in_transaction(const char* what, Body&& body);

  pg::PgOptions options_;
  std::string application_name_;
  MarkScope marks_;
  std::chrono::milliseconds max_rate_pause_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace millrace::webhooks::detail
