#pragma once

// Archived files on this host's filesystem, to be read (read_capture_file
// reads a path): a directory store's where they are; a remote store's
// downloaded into a directory of their own, removed with this object.

#include <filesystem>
#include <string>

#include "millrace/objstore/store.hpp"

namespace millrace::archive::detail {

class Downloads {
 public:
  // `store` must outlive this. `parent` empty: the temporary directory.
  Downloads(objstore::ObjectStore& store, const std::string& parent);
  ~Downloads();
  Downloads(const Downloads&) = delete;
  Downloads& operator=(const Downloads&) = delete;

  // Makes `key` local; returns the SHA-256 of its bytes. Throws
  // std::runtime_error (a file not written) or what the store throws.
  std::string fetch(const std::string& key);
  // Where `key` is once fetched.
  std::string path(const std::string& key) const;
  // Removes a downloaded `key` (a directory store's file stays).
  void drop(const std::string& key);

 private:
  objstore::ObjectStore& store_;
  std::filesystem::path dir_;
};

}  // namespace millrace::archive::detail
