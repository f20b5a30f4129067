#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "millrace/archive/config.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/stream/consumer.hpp"

namespace millrace::archive {

namespace detail {
class ArchiveHandler;
class ArchiveProbe;
}  // namespace detail
class DirectoryDestination;

// millrace-archiver: a consumer group member that writes every record of its
// topic, as it was, to Event Hubs Capture files, each recorded in the
// transaction that commits its offsets. docs/archive.md.
class Archiver {
 public:
  Archiver(ArchiverConfig config, metrics::Registry& metrics);
  ~Archiver();
  Archiver(const Archiver&) = delete;
  Archiver& operator=(const Archiver&) = delete;

  // Creates the root and its staging directory (a root that cannot be
  // written throws core::InfraError, fatal, here) and starts consuming.
  void start();
  // Finishes, commits and publishes the open files, then leaves the group.
  // Idempotent.
  void stop();
  bool wait(std::chrono::milliseconds timeout);
  void rethrow_failure();
  stream::StreamStats stats() const;

 private:
  ArchiverConfig config_;
  std::unique_ptr<DirectoryDestination> destination_;
  std::unique_ptr<detail::ArchiveProbe> probe_;
  std::unique_ptr<detail::ArchiveHandler> handler_;
  std::unique_ptr<stream::TransactionalConsumer> consumer_;
  // MILLRACE_ARCHIVE_EMPTY_FILES: the empty windows' files, on a thread and
  // a PostgreSQL session of their own.
  void run_empty_windows();
  std::string writer_id_;
  std::atomic<bool> stopping_{false};
  std::thread empty_windows_;
};

}  // namespace millrace::archive
