#pragma once

// The digests the stores send and compare (OpenSSL; CRC-32C our own).

#include <cstdint>
#include <string>
#include <string_view>

namespace millrace::objstore::detail {

std::string md5_raw(std::string_view bytes);                              // 16 bytes
std::string md5_hex(std::string_view bytes);                              // lowercase
std::string sha256_hex(std::string_view bytes);                           // lowercase
std::string hmac_sha256(std::string_view key, std::string_view message);  // 32 bytes
// CRC-32C (Castagnoli), as S3's x-amz-checksum-crc32c: with SSE 4.2's
// crc32 instruction where the CPU has it (some 8 GB/s), else a table.
std::uint32_t crc32c(std::string_view bytes);
// Its value as S3 sends it: base64 of the four bytes, big-endian.
std::string crc32c_base64(std::string_view bytes);
std::string to_hex(std::string_view bytes);  // lowercase
// The bytes lowercase hex `hex` spells (as is_md5_hex() accepts it).
std::string from_hex(std::string_view hex);

}  // namespace millrace::objstore::detail
