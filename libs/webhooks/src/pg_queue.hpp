#pragma once

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
  PgQueue(pg::PgOptions options, std::string application_name, MarkScope marks);
  ~PgQueue() override;

  std::optional<Claim> claim(std::int64_t lease_ms, int max) override;
  bool record(const Claim& claim, std::span<const Recorded> recorded, std::int64_t lease_ms,
              bool release) override;
  std::optional<std::vector<Delivery>> record_and_continue(const Claim& claim,
                                                           std::span<const Recorded> recorded,
                                                           std::int64_t lease_ms, int max) override;
  QueueStats stats() override;
  std::int64_t prune_delivered(std::int64_t keep_s) override;

 private:
  // An attempt that was not a delivery: a retry, a failure, or one that
  // disables the endpoint.
  static void record_other(pqxx::work& tx, const Claim& claim, const Recorded& rec,
                           std::int64_t age_ms);
  pqxx::connection& connection();
  // `body` in a transaction of type Tx (pqxx::work, or pqxx::nontransaction,
  // where each statement commits by itself); failures reset the connection
  // and are thrown classified.
  template <typename Tx, typename Body>
  auto in_transaction(const char* what, Body&& body);

  pg::PgOptions options_;
  std::string application_name_;
  MarkScope marks_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace millrace::webhooks::detail
