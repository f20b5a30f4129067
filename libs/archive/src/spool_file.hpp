#pragma once

// The object store destination's view of its spool: a file written there,
// read back for its parts (ObjectDestination, its prepare() and the parts
// sent while the file is written).

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace millrace::archive::detail {

// A spooled file, open for reading for as long as its parts go up.
class SpoolFile {
 public:
  explicit SpoolFile(const std::string& path)
      : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error("opening " + path + ": " + std::strerror(errno));
  }
  ~SpoolFile() { ::close(fd_); }
  SpoolFile(const SpoolFile&) = delete;
  SpoolFile& operator=(const SpoolFile&) = delete;
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_;
};

// `length` bytes of a spooled file from `at`, mapped for as long as they go
// up: a view of the page cache the file was just written to, neither copied
// into a buffer of its own nor zeroed first.
class MappedFile {
 public:
  MappedFile(const SpoolFile& file, std::int64_t at, std::int64_t length)
      : length_(static_cast<std::size_t>(length)) {
    if (length_ == 0) return;
    static const std::int64_t page = ::sysconf(_SC_PAGESIZE);
    const std::int64_t from = at - at % page;  // mmap's offset is a page's
    skip_ = static_cast<std::size_t>(at - from);
    mapped_ = skip_ + length_;
    void* where = ::mmap(nullptr, mapped_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, file.fd(), from);
    if (where == MAP_FAILED) {
      throw std::runtime_error("mapping " + file.path() + ": " + std::strerror(errno));
    }
    data_ = static_cast<const char*>(where);
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), mapped_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view view() const { return {data_ + skip_, length_}; }
  // `length` bytes from `at` (of the mapped bytes).
  std::string_view view(std::int64_t at, std::int64_t length) const {
    return view().substr(static_cast<std::size_t>(at), static_cast<std::size_t>(length));
  }

 private:
  const char* data_ = nullptr;
  std::size_t skip_ = 0;
  std::size_t length_;
  std::size_t mapped_ = 0;
};

}  // namespace millrace::archive::detail
