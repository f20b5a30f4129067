#pragma once

// Waking the delivery workers when deliveries are enqueued, instead of
// leaving them to find out at their next poll: the enqueuing transaction
// sends a NOTIFY with its read marks (read_marks.cpp), which PostgreSQL
// delivers at its commit, once per transaction, to every replica's
// listener. Polling stays, for retries that come due and for any wake-up
// lost while a listener reconnects.

#include <atomic>
#include <functional>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <string_view>

#include "millrace/pg/options.hpp"

namespace millrace::webhooks::detail {

// The payload is the schema, so deployments sharing a database wake only
// their own workers.
inline constexpr std::string_view kWakeChannel = "millrace_webhooks";

// A replica's own consumer wakes its own workers in memory, as soon as its
// batch commits: the NOTIFY takes three hops more (the committing session,
// the listener's session, the listener's thread), each a process to
// schedule on a machine that may be busy while the delivery waits. The
// NOTIFY still wakes every other replica; this one's listener passes over
// those its own consumer's session sent (`session`), already acted on.
class LocalWake {
 public:
  // The workers' wake-up; empty: none (the workers stopped). Any thread.
  void connect(std::function<void()> wake);
  // The consumer's batch committed a NOTIFY (read_marks.hpp). Called on the
  // consumer's commit thread.
  void committed();
  // The backend pid of the consumer's current PostgreSQL session, set as
  // it connects (0: none yet). Until it reconnects after losing its
  // session, another's given the same pid would be passed over too: those
  // deliveries then wait for the workers' poll.
  void set_session(int pid) { session_.store(pid); }
  int session() const { return session_.load(); }

 private:
  std::mutex mutex_;
  std::function<void()> wake_;
  std::atomic<int> session_{0};
};

// Whether a notification on kWakeChannel wakes this replica's workers:
// about its schema, and not from its own consumer's session.
bool wakes(const std::string& payload, int sender_pid, const std::string& schema,
           const LocalWake& local);

// On a connection of its own: LISTENs, calls `listening` once it does (a
// wake-up may have been missed before), then `wake` for each notification
// about `options.schema` that the session `local.session()` did not send,
// until `stopping`. Throws core::InfraError: retryable when the connection
// is lost.
void listen_for_wakeups(const pg::PgOptions& options, const LocalWake& local,
                        const std::atomic<bool>& stopping, const std::function<void()>& listening,
                        const std::function<void()>& wake);

}  // namespace millrace::webhooks::detail
