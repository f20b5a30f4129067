// The archiver's spool directory, held by a lock (object_destination.hpp).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "millrace/core/failure.hpp"
#include "millrace/runtime/log.hpp"
#include "object_destination.hpp"

namespace millrace::archive::detail {

SpoolDir::SpoolDir(const std::string& spool, const std::string& writer_id) {
  const auto fail = [&](const std::string& what) {
    throw core::InfraError(
        core::FailureClass::kFatal,
        "the archive spool " + spool + " cannot be " + what + " (MILLRACE_ARCHIVE_SPOOL)");
  };
  std::error_code ec;
  std::filesystem::create_directories(spool, ec);
  if (ec) fail("made: " + ec.message());
  const std::string lock = (std::filesystem::path(spool) / (writer_id + ".lock")).string();
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    fail(std::string("locked: ") + std::strerror(errno));
  }
  std::filesystem::create_directories(std::filesystem::path(spool) / writer_id, ec);
  if (ec) fail("written: " + ec.message());
  for (std::filesystem::directory_iterator it(spool, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory() || it->path().filename() == writer_id) continue;
    const std::string other = it->path().string() + ".lock";
    const int fd = ::open(other.c_str(), O_RDWR | O_CLOEXEC);
    // No lock file: not an archiver's, or one from before locks; a lock
    // another process holds: an archiver that runs.
    if (fd < 0) continue;
    const bool gone = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (gone) {
      std::error_code removed;
      std::filesystem::remove_all(it->path(), removed);
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
