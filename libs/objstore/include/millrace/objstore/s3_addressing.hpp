#pragma once

#include <cstdint>

#include "millrace/core/enum_names.hpp"

namespace millrace::objstore {

// How S3 requests name the bucket (StoreOptions::s3_addressing).
enum class S3Addressing : std::uint8_t { kAuto, kPath, kVirtual };
inline constexpr core::EnumNames<S3Addressing, 3> kS3AddressingNames({{S3Addressing::kAuto, "auto"},
                                                                      {S3Addressing::kPath, "path"},
                                                                      {S3Addressing::kVirtual,
                                                                       "virtual"}});

}  // namespace millrace::objstore
