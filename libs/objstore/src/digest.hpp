#pragma once

// The digests the stores send and compare (OpenSSL).

#include <string>
#include <string_view>

namespace millrace::objstore::detail {

std::string md5_raw(std::string_view bytes);                              // 16 bytes
std::string md5_hex(std::string_view bytes);                              // lowercase
std::string sha256_hex(std::string_view bytes);                           // lowercase
std::string hmac_sha256(std::string_view key, std::string_view message);  // 32 bytes
std::string to_hex(std::string_view bytes);                               // lowercase
// The bytes lowercase hex `hex` spells (as is_md5_hex() accepts it).
std::string from_hex(std::string_view hex);

}  // namespace millrace::objstore::detail
