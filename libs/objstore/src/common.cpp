#include "common.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace millrace::objstore::detail {

std::int64_t local_file_size(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw StoreError(ErrorKind::kRefused, "reading " + path + ": " + ec.message());
  return static_cast<std::int64_t>(size);
}

std::int64_t grown_part_size(std::int64_t size, std::int64_t part_bytes, int max_parts) {
  while (size > part_bytes * max_parts) part_bytes *= 2;
  return part_bytes;
}

std::int64_t for_each_part(const std::string& path, std::int64_t part_bytes,
                           const std::function<void(std::string_view, int)>& part) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw StoreError(ErrorKind::kRefused, "opening " + path + ": " + std::strerror(errno));
  const std::int64_t size = local_file_size(path);
  std::string buffer;
  std::int64_t done = 0;
  int n = 0;
  do {
    const std::int64_t take = std::min(part_bytes, size - done);
    buffer.resize(static_cast<std::size_t>(take));
    if (take > 0 && !in.read(buffer.data(), take)) {
      throw StoreError(ErrorKind::kRefused, "reading " + path + ": short read");
    }
    part(buffer, ++n);
    done += take;
  } while (done < size);
  return size;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

ErrorKind kind_of(long status, const std::string& code) {
  if (code == "BadDigest" || code == "InvalidDigest" || code == "Md5Mismatch" ||
      code == "InvalidMd5" || code == "XAmzContentSHA256Mismatch") {
    return ErrorKind::kChecksum;
  }
  if (status == 401 || status == 403) return ErrorKind::kCredentials;
  if (status == 404) return ErrorKind::kNotFound;
  if (status >= 500 || status == 408 || status == 429) return ErrorKind::kServer;
  return ErrorKind::kRefused;
}

std::string status_text(long status, const std::string& code, const std::string& message) {
  std::string out = std::to_string(status);
  if (!code.empty()) out += " " + code;
  if (!message.empty()) out += ": " + message;
  return out;
}

}  // namespace millrace::objstore::detail
