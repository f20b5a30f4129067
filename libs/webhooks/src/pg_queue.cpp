#include "pg_queue.hpp"

#include <random>
#include <stdexcept>

#include "failures.hpp"
#include "millrace/pg/array.hpp"
#include "millrace/pg/database.hpp"
#include "pg_queue_sql.hpp"

namespace millrace::webhooks::detail {

namespace {

std::int64_t new_lease_token() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return static_cast<std::int64_t>(rng() >> 1);
}

// The delivered outcomes of `recorded` as set_delivered_sql() takes them;
// `other` is set to the one that is not a delivery, if any (at most one:
// a claim stops at it).
struct DeliveredArrays {
  pg::ArrayLiteral ids, statuses, ages;
  const Recorded* other = nullptr;
  explicit DeliveredArrays(std::span<const Recorded> recorded) {
    const auto now = std::chrono::steady_clock::now();
    for (const auto& r : recorded) {
      if (r.decision.verdict != Verdict::kDelivered) {
        other = &r;
        continue;
      }
      ids.add(r.delivery->id);
      statuses.add(r.result.status.value_or(0));
      ages.add(age_ms(r, now));
    }
  }
  static std::int64_t age_ms(const Recorded& r, std::chrono::steady_clock::time_point now) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - r.answered).count();
  }
};

}  // namespace

PgQueue::PgQueue(pg::PgOptions options, std::string application_name, MarkScope marks,
                 std::chrono::milliseconds max_rate_pause)
    : options_(std::move(options)),
      application_name_(std::move(application_name)),
      marks_(std::move(marks)),
      max_rate_pause_(max_rate_pause) {}

PgQueue::~PgQueue() = default;

pqxx::connection& PgQueue::connection() {
  if (!conn_) {
    conn_ = pg::connect(options_.url, options_.schema, application_name_, options_.limits);
    // Recording an attempt need not wait for its WAL flush: a database crash
    // can forget the last few outcomes, and those deliveries are sent again
    // with the same webhook-id, which receivers deduplicate anyway. It spares
    // one fsync per request, which otherwise bounds an endpoint's rate. The
    // queue's contents (enqueued with the consumer's offsets) are written
    // with synchronous commits as before.
    pqxx::nontransaction(*conn_).exec("SET synchronous_commit = off");
    // Defined here, prepared by libpqxx at their first use in this session.
    conn_->prepare(queue_sql::kClaim, queue_sql::claim_sql());
    conn_->prepare(queue_sql::kCommitOrderDeliveries, queue_sql::deliveries_sql(true));
    conn_->prepare(queue_sql::kKeyOrderDeliveries, queue_sql::deliveries_sql(false));
    for (const bool release : {true, false}) {
      conn_->prepare(queue_sql::hold_name(release), queue_sql::hold_sql(release));
      conn_->prepare(queue_sql::hold_and_deliver_name(release),
                     queue_sql::hold_and_deliver_sql(release));
    }
    for (const bool commit_order : {true, false}) {
      conn_->prepare(queue_sql::continue_name(commit_order), queue_sql::continue_sql(commit_order));
    }
    conn_->prepare(queue_sql::kSetDelivered, queue_sql::set_delivered_sql(1, ""));
  }
  return *conn_;
}

template <typename Tx, typename Body>
auto PgQueue::in_transaction(const char* what, Body&& body) {
  try {
    Tx tx(connection());
    auto out = body(tx);
    tx.commit();
    return out;
  } catch (const std::exception&) {
    conn_.reset();  // a failed session is not trusted again
    pg::rethrow_classified(what);
  }
}

std::optional<Claim> PgQueue::claim(std::int64_t lease_ms, int max) {
  // Two statements outside a transaction: each commits by itself, so the
  // claim takes two round trips, not four (BEGIN and COMMIT too), each of
  // them waiting its turn on a PostgreSQL that is also taking the source's
  // commits and decoding them while the next delivery waits. The lease
  // taken by the first protects the read of the second, which needs a
  // snapshot taken after the lease: one taken before it (the same
  // statement's) could miss the deliveries another worker recorded as its
  // lease ended, and send them again.
  return in_transaction<pqxx::nontransaction>(
      "claim a webhook queue", [&](pqxx::nontransaction& tx) -> std::optional<Claim> {
        const std::int64_t token = new_lease_token();
        const auto head =
            tx.exec_prepared(queue_sql::kClaim, token, lease_ms, marks_.group, marks_.topic,
                             static_cast<std::int64_t>(max_rate_pause_.count()));
        if (head.empty()) return std::nullopt;
        Claim c;
        c.endpoint = head[0][0].as<std::int64_t>();
        c.url = head[0][1].as<std::string>();
        c.secrets.push_back(head[0][2].as<std::string>());
        if (!head[0][3].is_null()) c.secrets.push_back(head[0][3].as<std::string>());
        c.lease = token;
        c.commit_order = head[0][4].as<bool>();
        c.more = head[0][5].as<bool>();
        c.format = format_named(head[0][6].as<std::string>()).value_or(Format::kStandard);
        c.rate_limit = head[0][7].as<double>();
        c.rate_wait = std::chrono::milliseconds(head[0][8].as<std::int64_t>());
        // In commit order the claim ends before the first delivery the marks
        // do not release yet (the head is released: the claim above checked).
        const auto rows = c.commit_order
                              ? tx.exec_prepared(queue_sql::kCommitOrderDeliveries, c.endpoint, max,
                                                 marks_.group, marks_.topic)
                              : tx.exec_prepared(queue_sql::kKeyOrderDeliveries, c.endpoint, max);
        for (const auto& r : rows) {
          if (!r[5].as<bool>()) break;
          c.deliveries.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>(),
                                  r[2].as<std::string>(), r[3].as<int>(), r[4].as<double>()});
        }
        return c;
      });
}

namespace {

// Null when the claim keeps no rate.
std::optional<std::int64_t> rate_param(RateWait rate) {
  if (!rate) return std::nullopt;
  return static_cast<std::int64_t>(rate->count());
}

}  // namespace

Stored PgQueue::record(const Claim& claim, std::span<const Recorded> recorded,
                       std::int64_t lease_ms, bool release, RateWait rate) {
  // The deliveries in one statement; what is not one ends the claim, so
  // there is at most one such, stored by itself below.
  DeliveredArrays a(recorded);
  const auto with_lease = [&](auto& tx, const char* statement, auto&&... more) {
    return release ? tx.exec_prepared(statement, claim.endpoint, claim.lease, more...)
                   : tx.exec_prepared(statement, claim.endpoint, claim.lease, lease_ms, more...);
  };
  if (a.other == nullptr) {
    // Only deliveries, the usual case: one statement.
    return in_transaction<pqxx::nontransaction>(
        "record webhook attempts", [&](pqxx::nontransaction& tx) {
          return Stored{with_lease(tx, queue_sql::hold_and_deliver_name(release), a.ids.take(),
                                   a.statuses.take(), a.ages.take(), rate_param(rate))[0][0]
                                .as<std::int64_t>() > 0,
                        {}};
        });
  }
  return in_transaction<pqxx::work>("record webhook attempts", [&](pqxx::work& tx) {
    if (with_lease(tx, queue_sql::hold_name(release), rate_param(rate)).empty()) return Stored{};
    const bool delivered = a.ids.size() > 0;
    if (delivered) {
      tx.exec_prepared(queue_sql::kSetDelivered, a.ids.take(), a.statuses.take(), a.ages.take());
    }
    return Stored{
        true, attempt_failed(tx, claim.endpoint, a.other->delivery->id, *a.other,
                             DeliveredArrays::age_ms(*a.other, std::chrono::steady_clock::now()),
                             delivered)};
  });
}

std::optional<std::vector<Delivery>> PgQueue::record_and_continue(
    const Claim& claim, std::span<const Recorded> recorded, std::int64_t lease_ms, int max,
    RateWait rate) {
  DeliveredArrays arrays(recorded);
  if (arrays.other != nullptr) {
    throw std::logic_error("record_and_continue: an outcome that is not a delivery");
  }
  return in_transaction<pqxx::nontransaction>(
      "record webhook attempts",
      [&](pqxx::nontransaction& tx) -> std::optional<std::vector<Delivery>> {
        const char* statement = queue_sql::continue_name(claim.commit_order);
        const auto rows =
            claim.commit_order
                ? tx.exec_prepared(statement, claim.endpoint, claim.lease, lease_ms,
                                   arrays.ids.take(), arrays.statuses.take(), arrays.ages.take(),
                                   max, marks_.group, marks_.topic, rate_param(rate))
                : tx.exec_prepared(statement, claim.endpoint, claim.lease, lease_ms,
                                   arrays.ids.take(), arrays.statuses.take(), arrays.ages.take(),
                                   max, rate_param(rate));
        if (rows.empty()) return std::nullopt;
        std::vector<Delivery> next;
        if (!rows[0][0].as<bool>()) return next;
        // In commit order the rows stop before the first one the marks do
        // not release yet (the head is released: the lease was kept).
        for (const auto& r : rows) {
          if (!r[6].as<bool>()) break;
          next.push_back({r[1].as<std::int64_t>(), r[2].as<std::string>(), r[3].as<std::string>(),
                          r[4].as<int>(), r[5].as<double>()});
        }
        return next;
      });
}

std::string PgQueue::database() {
  try {
    return connection().dbname();
  } catch (const std::exception&) {
    conn_.reset();
    pg::rethrow_classified("connect to the delivery queue");
  }
}

QueueStats PgQueue::stats() {
  return in_transaction<pqxx::work>("read webhook queue stats", [&](pqxx::work& tx) {
    QueueStats s;
    const auto rows = tx.exec(
        "SELECT e.id, e.active, "
        "  count(d.id) FILTER (WHERE d.status = 'pending'), "
        "  count(d.id) FILTER (WHERE d.status = 'failed'), "
        "  coalesce(extract(epoch FROM clock_timestamp() - "
        "    min(d.enqueued_at) FILTER (WHERE d.status = 'pending')), 0)::float8, "
        "  (SELECT coalesce(sum(f.changes), 0) FROM webhook_filtered f "
        "    WHERE f.endpoint_id = e.id)::bigint, "
        "  coalesce(extract(epoch FROM clock_timestamp() - e.failing_since), 0)::float8 "
        "FROM webhook_endpoints e "
        "LEFT JOIN webhook_deliveries d ON d.endpoint_id = e.id AND d.status <> 'delivered' "
        "GROUP BY e.id, e.active ORDER BY e.id");
    for (const auto& r : rows) {
      s.endpoints.push_back({r[0].as<std::int64_t>(), r[1].as<bool>(), r[2].as<std::int64_t>(),
                             r[3].as<std::int64_t>(), r[4].as<double>(), r[5].as<std::int64_t>(),
                             r[6].as<double>()});
    }
    return s;
  });
}

std::int64_t PgQueue::prune_delivered(std::int64_t keep_s) {
  return in_transaction<pqxx::work>("prune delivered webhooks", [&](pqxx::work& tx) {
    return static_cast<std::int64_t>(
        tx.exec_params("DELETE FROM webhook_deliveries WHERE status = 'delivered' "
                       "AND delivered_at < now() - $1 * interval '1 second'",
                       keep_s)
            .affected_rows());
  });
}

}  // namespace millrace::webhooks::detail
