#include "wakeup.hpp"

#include <pqxx/pqxx>

#include "millrace/pg/database.hpp"

namespace millrace::webhooks::detail {

namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, std::string schema, const LocalWake& local,
           const std::function<void()>& wake)
      : pqxx::notification_receiver(conn, std::string(kWakeChannel)),
        schema_(std::move(schema)),
        local_(local),
        wake_(wake) {}
  void operator()(const std::string& payload, int backend_pid) override {
    if (wakes(payload, backend_pid, schema_, local_)) wake_();
  }

 private:
  std::string schema_;
  const LocalWake& local_;
  const std::function<void()>& wake_;
};

}  // namespace

bool wakes(const std::string& payload, int sender_pid, const std::string& schema,
           const LocalWake& local) {
  return payload == schema && sender_pid != local.session();
}

void LocalWake::connect(std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  wake_ = std::move(wake);
}

void LocalWake::committed() {
  std::lock_guard lock(mutex_);
  if (wake_) wake_();
}

void listen_for_wakeups(const pg::PgOptions& options, const LocalWake& local,
                        const std::atomic<bool>& stopping, const std::function<void()>& listening,
                        const std::function<void()>& wake) {
  try {
    auto conn = pg::connect(options.url, options.schema, "millrace-webhooks-listener",
                            options.connect_limits());
    // libpqxx sends the LISTEN as the receiver registers: from here on no
    // wake-up is missed; before, any may have been.
    Receiver receiver(*conn, options.schema, local, wake);
    listening();
    while (!stopping.load()) conn->await_notification(0, 200'000);
  } catch (const std::exception&) {
    pg::rethrow_classified("listening for enqueued deliveries");
  }
}

}  // namespace millrace::webhooks::detail
