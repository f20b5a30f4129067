#include "millrace/archive/service.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "empty_windows.hpp"
#include "handler.hpp"
#include "millrace/archive/writer.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/objstore/store.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/worker.hpp"
#include "object_destination.hpp"
#include "probe.hpp"

namespace millrace::archive {

namespace {

// This process's mark on its staged files: its pid and a random word, so
// that two members (even in two containers with the same pid) never share
// a staged name.
std::string writer_id() {
  std::random_device random;
  char text[32];
  std::snprintf(text, sizeof text, "%d.%08x", static_cast<int>(::getpid()),
                static_cast<unsigned>(random()));
  return text;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A root that cannot be written must stop the service at once, not after
// the first window: this part starts before the consumer.
struct WritableRoot {
  std::string root;
  void start() const {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path staging = fs::path(root) / ".staging";
    fs::create_directories(staging, ec);
    const fs::path probe = staging / (".write-test." + std::to_string(::getpid()));
    if (!ec) {
      std::ofstream(probe) << "probe";
      if (!fs::exists(probe, ec)) ec = std::make_error_code(std::errc::permission_denied);
      std::error_code ignored;
      fs::remove(probe, ignored);
    }
    if (ec) {
      throw core::InfraError(core::FailureClass::kFatal,
                             "archive root " + root + " cannot be written: " + ec.message());
    }
  }
};

// MILLRACE_ARCHIVE_EMPTY_FILES: the empty windows' files, on a thread and a
// PostgreSQL session of their own, started once the consumer runs.
class EmptyWindows {
 public:
  EmptyWindows(const ArchiverConfig& config, std::string writer_id, Destination& destination)
      : config_(config), writer_id_(std::move(writer_id)), destination_(destination) {}
  ~EmptyWindows() { stop(); }

  void start() {
    // A window's files are sealed at its end and committed right after; it
    // is judged a little later (up to 30 s, never more than one window).
    const std::int64_t grace = std::clamp<std::int64_t>(config_.policy.window_ms, 1000, 30000);
    writer_ = std::make_unique<detail::EmptyWindowWriter>(
        config_.stream.group, config_.stream.kafka.topic, config_.ns, config_.policy, writer_id_,
        destination_, grace, now_ms());
    worker_.spawn([this] { return round(); });
  }
  void stop() { worker_.stop(); }

 private:
  runtime::Worker::Next round() {
    try {
      if (!connection_ || !connection_->is_open()) {
        connection_ = pg::connect(config_.stream.pg.url, config_.stream.pg.schema,
                                  "archiver-empty-windows", config_.stream.pg.limits);
      }
      if (const int n = writer_->run(*connection_, now_ms()); n > 0) {
        runtime::log_info("archiver", "wrote " + std::to_string(n) + " empty window file(s)");
      }
    } catch (const core::InfraError&) {
      connection_.reset();
      throw;
    } catch (const pqxx::failure&) {
      connection_.reset();
      pg::rethrow_classified("empty window files");
    } catch (const std::exception& e) {
      // The destination's: a store or a directory that refuses for now,
      // as the consumer meets them too and reports.
      connection_.reset();
      throw core::InfraError(core::FailureClass::kRetryable,
                             std::string("empty window files: ") + e.what());
    }
    return runtime::Worker::Next::after(std::chrono::milliseconds(500));
  }

  const ArchiverConfig& config_;
  const std::string writer_id_;
  Destination& destination_;
  std::unique_ptr<detail::EmptyWindowWriter> writer_;
  std::unique_ptr<pqxx::connection> connection_;
  // Last: its thread uses the members above. Waits up to 30 s between
  // tries, as the empty files are no hurry.
  runtime::Worker worker_{{.component = "archiver", .retry = {1000, 30000}}};
};

// An object store's local spool, ready before the consumer starts.
struct Spool {
  Spool(std::string dir, std::string writer_id)
      : dir(std::move(dir)), writer_id(std::move(writer_id)) {}
  std::string dir;
  std::string writer_id;
  std::unique_ptr<detail::SpoolDir> held;
  void start() { held = std::make_unique<detail::SpoolDir>(dir, writer_id); }
};

// How long the store may go unasked before /readyz's check asks it.
constexpr std::chrono::seconds kStoreIdleCheck{30};

}  // namespace

std::unique_ptr<stream::ConsumerService> make_archiver(ArchiverConfig archiver_config,
                                                       metrics::Registry& metrics) {
  auto service = std::make_unique<stream::ConsumerService>("archiver", metrics);
  const auto& config = service->keep(std::move(archiver_config));
  const std::string id = writer_id();
  // A directory, or an object store: a destination for the consumer's
  // thread, and one for the empty windows' thread (a store serves one
  // thread), both reporting to /readyz's "archive_store".
  const bool directory = config.store.location.is_directory();
  detail::StoreHealth* store_health = nullptr;
  const auto make_destination = [&]() -> Destination& {
    if (directory) return service->add(std::make_unique<DirectoryDestination>(config.root));
    return service->add(std::make_unique<detail::ObjectDestination>(
        [&config] { return objstore::open_store(config.store); }, config.spool, id,
        static_cast<std::size_t>(config.parallel_parts), store_health));
  };
  if (directory) {
    service->keep(WritableRoot{config.root});
  } else {
    service->add(std::make_unique<Spool>(config.spool, id));
    store_health = &service->add(std::make_unique<detail::StoreHealth>(
        objstore::open_store(config.store), kStoreIdleCheck, &metrics));
    service->health().poll("archive_store", [store_health] { return store_health->problem(); });
  }
  auto& destination = make_destination();
  auto& probe =
      service->add(std::make_unique<detail::ArchiveProbe>(metrics, config.stream.kafka.topic));
  detail::HandlerSettings settings;
  settings.group = config.stream.group;
  settings.topic = config.stream.kafka.topic;
  settings.ns = config.ns;
  settings.root_name = config.store.location.url();
  settings.policy = config.policy;
  settings.writer_id = id;
  settings.now_ms = now_ms;
  auto& handler =
      service->add(std::make_unique<detail::ArchiveHandler>(settings, destination, &probe));
  service->consume(config.stream, handler);
  if (config.empty_files) {
    service->add(std::make_unique<EmptyWindows>(config, settings.writer_id, make_destination()));
  }
  return service;
}

}  // namespace millrace::archive
