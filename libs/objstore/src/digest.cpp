#include "digest.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace millrace::objstore::detail {

namespace {

std::string digest(const EVP_MD* md, std::string_view bytes) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), out, &size, md, nullptr) != 1) {
    throw std::runtime_error("OpenSSL could not compute a digest");
  }
  return std::string(reinterpret_cast<const char*>(out), size);
}

}  // namespace

std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

std::string from_hex(std::string_view hex) {
  const auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>((nibble(hex[i]) << 4) | nibble(hex[i + 1]));
  }
  return out;
}

std::string md5_raw(std::string_view bytes) {
  return digest(EVP_md5(), bytes);
}
std::string md5_hex(std::string_view bytes) {
  return to_hex(md5_raw(bytes));
}
std::string sha256_hex(std::string_view bytes) {
  return to_hex(digest(EVP_sha256(), bytes));
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), out,
           &size) == nullptr) {
    throw std::runtime_error("OpenSSL could not compute an HMAC");
  }
  return std::string(reinterpret_cast<const char*>(out), size);
}

}  // namespace millrace::objstore::detail
