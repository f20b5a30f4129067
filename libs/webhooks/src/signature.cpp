#include "millrace/webhooks/signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "millrace/core/base64.hpp"

namespace millrace::webhooks {

namespace {

constexpr std::string_view kPrefix = "whsec_";

std::string key_of(std::string_view secret) {
  std::string key;
  if (secret.substr(0, kPrefix.size()) != kPrefix ||
      !core::unbase64(secret.substr(kPrefix.size()), key) || key.size() < 16 || key.size() > 64) {
    throw std::invalid_argument(
        "a webhook secret is \"whsec_\" followed by the base64 of 16 to 64 bytes");
  }
  return key;
}

std::string signature_bytes(std::string_view secret, std::string_view id, std::int64_t timestamp,
                            std::string_view body) {
  const std::string key = key_of(secret);
  std::string message;
  message.reserve(id.size() + body.size() + 24);
  message.append(id).append(".").append(std::to_string(timestamp)).append(".").append(body);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest,
           &length) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed in OpenSSL");
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

}  // namespace

bool is_secret(std::string_view secret) {
  try {
    key_of(secret);
    return true;
  } catch (const std::invalid_argument&) {
    return false;
  }
}

std::string new_secret() {
  unsigned char key[32];
  if (RAND_bytes(key, sizeof key) != 1) throw std::runtime_error("OpenSSL RAND_bytes failed");
  return std::string(kPrefix) +
         core::base64(std::string_view(reinterpret_cast<const char*>(key), sizeof key));
}

std::string sign(std::string_view secret, std::string_view id, std::int64_t timestamp,
                 std::string_view body) {
  const std::string mac = signature_bytes(secret, id, timestamp, body);
  return "v1," + core::base64(mac);
}

std::string signature_header(const std::vector<std::string>& secrets, std::string_view id,
                             std::int64_t timestamp, std::string_view body) {
  std::string header;
  for (const auto& secret : secrets) {
    if (!header.empty()) header += ' ';
    header += sign(secret, id, timestamp, body);
  }
  return header;
}

bool verify(std::string_view header, std::string_view secret, std::string_view id,
            std::int64_t timestamp, std::string_view body) {
  const std::string expected = signature_bytes(secret, id, timestamp, body);
  std::size_t pos = 0;
  while (pos < header.size()) {
    std::size_t end = header.find(' ', pos);
    if (end == std::string_view::npos) end = header.size();
    const std::string_view one = header.substr(pos, end - pos);
    std::string mac;
    if (one.substr(0, 3) == "v1," && core::unbase64(one.substr(3), mac) &&
        mac.size() == expected.size() &&
        CRYPTO_memcmp(mac.data(), expected.data(), mac.size()) == 0) {
      return true;
    }
    pos = end + 1;
  }
  return false;
}

}  // namespace millrace::webhooks
