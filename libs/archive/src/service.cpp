#include "millrace/archive/service.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "handler.hpp"
#include "millrace/archive/writer.hpp"
#include "millrace/core/failure.hpp"
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

}  // namespace

Archiver::Archiver(ArchiverConfig config, metrics::Registry& metrics)
    : config_(std::move(config)),
      destination_(std::make_unique<DirectoryDestination>(config_.root)),
      probe_(std::make_unique<detail::ArchiveProbe>(metrics, config_.stream.kafka.topic)) {
  detail::HandlerSettings settings;
  settings.group = config_.stream.group;
  settings.topic = config_.stream.kafka.topic;
  settings.ns = config_.ns;
  settings.root_name = config_.root;
  settings.policy = config_.policy;
  settings.writer_id = writer_id();
  settings.now_ms = now_ms;
  handler_ = std::make_unique<detail::ArchiveHandler>(settings, *destination_, probe_.get());
  consumer_ = std::make_unique<stream::TransactionalConsumer>(config_.stream, *handler_, "archiver",
                                                              metrics);
}

Archiver::~Archiver() {
  stop();
}

void Archiver::start() {
  // A root that cannot be written must stop the service at once, not after
  // the first window.
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path staging = fs::path(config_.root) / ".staging";
  fs::create_directories(staging, ec);
  const fs::path probe = staging / (".write-test." + std::to_string(::getpid()));
  if (!ec) {
    std::ofstream(probe).put('x');
    if (!fs::exists(probe, ec)) ec = std::make_error_code(std::errc::permission_denied);
    std::error_code ignored;
    fs::remove(probe, ignored);
  }
  if (ec) {
    throw core::InfraError(core::FailureClass::kFatal,
                           "archive root " + config_.root + " cannot be written: " + ec.message());
  }
  consumer_->start();
}

void Archiver::stop() {
  consumer_->stop();
}

bool Archiver::wait(std::chrono::milliseconds timeout) {
  return consumer_->wait(timeout);
}

void Archiver::rethrow_failure() {
  consumer_->rethrow_failure();
}

stream::StreamStats Archiver::stats() const {
  return consumer_->stats();
}

}  // namespace millrace::archive
