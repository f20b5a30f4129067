// What the archive store's last answers say: /readyz's "archive_store" and
// its metrics (object_destination.hpp).
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "archive_metrics.hpp"
#include "object_destination.hpp"

namespace millrace::archive::detail {

namespace {
constexpr const char* kCheck = "archive_store";
}  // namespace

StoreHealth::StoreHealth(std::unique_ptr<objstore::ObjectStore> own, std::chrono::seconds idle,
                         metrics::Registry* registry)
    : own_(std::move(own)), idle_(idle), registry_(registry) {
  if (registry_ == nullptr) return;
  kArchiveStoreFailing.computed_gauge(*registry_, [this] {
    std::lock_guard lock(mutex_);
    const double s = failing_since_
                         ? std::chrono::duration<double>(Clock::now() - *failing_since_).count()
                         : 0.0;
    return std::vector<metrics::Sample>{{{}, s}};
  });
}

void StoreHealth::succeeded() {
  std::lock_guard lock(mutex_);
  error_.reset();
  failing_since_.reset();
  last_ = Clock::now();
}

void StoreHealth::failed(objstore::ErrorKind kind, std::string explained) {
  if (registry_ != nullptr) {
    kArchiveStoreErrors
        .counter(*registry_, {{"kind", std::string(objstore::kErrorKindNames.name(kind))}})
        .inc();
  }
  std::lock_guard lock(mutex_);
  error_ = std::move(explained);
  last_ = Clock::now();
  if (!failing_since_) failing_since_ = last_;
}

std::optional<runtime::Problem> StoreHealth::problem() {
  bool stale = false;
  {
    std::lock_guard lock(mutex_);
    stale = last_ == Clock::time_point{} || Clock::now() - last_ >= idle_;
  }
  if (stale) {
    try {
      own_->check();
      succeeded();
    } catch (const objstore::StoreError& e) {
      failed(e.kind(), objstore::explain(e, *own_));
    }
  }
  std::lock_guard lock(mutex_);
  if (!error_) return std::nullopt;
  return runtime::Problem{kCheck, *error_,
                          "nothing is recorded or lost meanwhile: each window is retried from "
                          "Kafka with backoff until the store takes it"};
}

}  // namespace millrace::archive::detail
