#pragma once

// What the S3 and Azure stores share: reading a local file in parts, and
// turning an answer's status into an ErrorKind.

#include <cstdint>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>

#include "millrace/objstore/store.hpp"

namespace millrace::objstore::detail {

// Calls `part` with the file's bytes, `part_bytes` at a time (the last part
// shorter; one empty part for an empty file), numbered from 1; returns the
// file's size. Throws StoreError(kRefused) when the file cannot be read.
std::int64_t for_each_part(const std::string& path, std::int64_t part_bytes,
                           const std::function<void(std::string_view, int)>& part);

// `part_bytes`, doubled until `max_parts` parts hold `size` bytes (a file
// too large for the store's limit on parts gets larger ones).
std::int64_t grown_part_size(std::int64_t size, std::int64_t part_bytes, int max_parts);

// The file's size; throws StoreError(kRefused) when it cannot be read.
std::int64_t local_file_size(const std::string& path);

// 2xx: nothing. Otherwise the kind an answer's status and error code mean.
ErrorKind kind_of(long status, const std::string& code);

// `s` without the blanks and line ends around it.
std::string trim(std::string s);

// "403 AccessDenied: Access Denied", or "404" without a body.
std::string status_text(long status, const std::string& code, const std::string& message);

}  // namespace millrace::objstore::detail
