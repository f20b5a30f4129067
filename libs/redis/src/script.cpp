#include <openssl/evp.h>

#include "millrace/redis/client.hpp"

namespace millrace::redis {

namespace {

// Redis names a cached script by the lowercase hex SHA1 of its text.
std::string sha1_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha1(), nullptr) != 1) {
    throw core::InfraError(core::FailureClass::kFatal, "redis: OpenSSL could not compute a SHA1");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * size);
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0x0f];
  }
  return hex;
}

}  // namespace

Script::Script(std::string text) : text_(std::move(text)), sha1_(sha1_hex(text_)) {}

}  // namespace millrace::redis
