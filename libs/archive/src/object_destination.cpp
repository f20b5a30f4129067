#include "object_destination.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include "archive_metrics.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/runtime/log.hpp"

namespace millrace::archive::detail {

namespace {

namespace fs = std::filesystem;

constexpr const char* kStaging = ".staging/";
constexpr const char* kCheck = "archive_store";

}  // namespace

std::string staging_key(const std::string& name) {
  return kStaging + name;
}

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

ObjectDestination::ObjectDestination(Open open, std::string spool, std::string writer_id,
                                     StoreHealth* health)
    : open_(std::move(open)), spool_((fs::path(spool) / writer_id).string()), health_(health) {}

ObjectDestination::Lease::Lease(ObjectDestination& owner) : owner_(owner) {
  {
    std::lock_guard lock(owner_.pool_mutex_);
    if (!owner_.pool_.empty()) {
      store_ = std::move(owner_.pool_.back());
      owner_.pool_.pop_back();
    }
  }
  if (!store_) store_ = owner_.open_();
}

ObjectDestination::Lease::~Lease() {
  std::lock_guard lock(owner_.pool_mutex_);
  owner_.pool_.push_back(std::move(store_));
}

template <typename F>
auto ObjectDestination::reported(F&& op) -> decltype(op(std::declval<objstore::ObjectStore&>())) {
  Lease store(*this);
  try {
    if constexpr (std::is_void_v<decltype(op(*store))>) {
      op(*store);
      if (health_ != nullptr) health_->succeeded();
    } else {
      auto out = op(*store);
      if (health_ != nullptr) health_->succeeded();
      return out;
    }
  } catch (const objstore::StoreError& e) {
    const std::string explained = objstore::explain(e, *store);
    if (health_ != nullptr) health_->failed(e.kind(), explained);
    throw objstore::StoreError(e.kind(), explained);
  }
}

std::string ObjectDestination::local(const std::string& name) const {
  return (fs::path(spool_) / name).string();
}

std::string ObjectDestination::staging_path(const std::string& name) {
  const fs::path path = local(name);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) {
    throw std::runtime_error("creating the spool directory " + path.parent_path().string() + ": " +
                             ec.message());
  }
  return path.string();
}

void ObjectDestination::sync_staged(const std::string& name) {
  const std::string path = local(name);
  try {
    reported([&](objstore::ObjectStore& store) { store.put_file(staging_key(name), path); });
  } catch (...) {
    ::unlink(path.c_str());
    throw;
  }
  ::unlink(path.c_str());
}

Destination::Published ObjectDestination::publish(const std::string& name,
                                                  const std::string& relative) {
  return reported([&](objstore::ObjectStore& store) {
    try {
      store.copy(staging_key(name), relative);
    } catch (const objstore::StoreError& e) {
      if (e.kind() != objstore::ErrorKind::kNotFound) throw;
      // Copied and deleted by an earlier attempt, or lost.
      return store.size_of(relative) ? Published::kAlready : Published::kMissing;
    }
    store.remove(staging_key(name));
    return Published::kMoved;
  });
}

std::vector<std::string> ObjectDestination::staged_in(const std::string& dir) {
  return reported([&](objstore::ObjectStore& store) {
    const std::string prefix = staging_key(dir + "/");
    std::set<std::string> names;
    const auto strip = [](const std::string& key) {
      return key.substr(std::string(kStaging).size());
    };
    for (const auto& o : store.list(prefix)) names.insert(strip(o.key));
    for (const auto& u : store.unfinished(prefix)) names.insert(strip(u.key));
    return std::vector<std::string>(names.begin(), names.end());
  });
}

void ObjectDestination::remove_staged(const std::string& name) {
  ::unlink(local(name).c_str());
  reported([&](objstore::ObjectStore& store) {
    const std::string key = staging_key(name);
    store.remove(key);
    for (const auto& u : store.unfinished(key)) {
      if (u.key == key) store.abort(u);
    }
  });
}

SpoolDir::SpoolDir(const std::string& spool, const std::string& writer_id) {
  const auto fail = [&](const std::string& what) {
    throw core::InfraError(
        core::FailureClass::kFatal,
        "the archive spool " + spool + " cannot be " + what + " (MILLRACE_ARCHIVE_SPOOL)");
  };
  std::error_code ec;
  fs::create_directories(spool, ec);
  if (ec) fail("made: " + ec.message());
  const std::string lock = (fs::path(spool) / (writer_id + ".lock")).string();
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    fail(std::string("locked: ") + std::strerror(errno));
  }
  fs::create_directories(fs::path(spool) / writer_id, ec);
  if (ec) fail("written: " + ec.message());
  for (fs::directory_iterator it(spool, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory() || it->path().filename() == writer_id) continue;
    const std::string other = it->path().string() + ".lock";
    const int fd = ::open(other.c_str(), O_RDWR | O_CLOEXEC);
    // No lock file: not an archiver's, or one from before locks; a lock
    // another process holds: an archiver that runs.
    if (fd < 0) continue;
    const bool gone = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (gone) {
      std::error_code removed;
      fs::remove_all(it->path(), removed);
      ::unlink(other.c_str());
      if (!removed) {
        runtime::log_info("archiver",
                          "removed " + it->path().string() + ", left by an archiver that is gone");
      }
    }
    ::close(fd);
  }
}

SpoolDir::~SpoolDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

}  // namespace millrace::archive::detail
