#pragma once

// S3's REST API (AWS and S3-compatible stores), signed with Signature
// Version 4 by libcurl. A request carrying an object's bytes (PutObject,
// UploadPart) signs its Content-MD5, which the store checks against every
// byte, and sends x-amz-content-sha256 as UNSIGNED-PAYLOAD; every other
// request carries its body's real hash, so its payload is signed too.

#include <cstdint>
#include <memory>
#include <string>

#include "http.hpp"
#include "millrace/objstore/location.hpp"
#include "millrace/objstore/store.hpp"

namespace millrace::objstore::detail {

struct S3Settings {
  std::string endpoint;  // "https://host[:port]"; empty: AWS's for the region
  std::string region = "us-east-1";
  bool path_style = false;
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty: none
  std::int64_t part_bytes = 16 << 20;
};

std::unique_ptr<ObjectStore> s3_store(Location location, S3Settings settings, Transport transport);

}  // namespace millrace::objstore::detail
