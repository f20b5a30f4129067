#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "millrace/objstore/s3_addressing.hpp"

namespace millrace::objstore {

// The values of the settings src/settings.cpp declares, each initialised
// to its default.
struct StoreSettings {
  std::string s3_endpoint;
  std::string s3_region;
  S3Addressing s3_addressing = S3Addressing::kAuto;
  std::string aws_access_key_id;
  std::string aws_secret_access_key;
  std::string aws_session_token;
  std::string aws_credentials_file;
  std::string aws_profile = "default";
  std::string azure_sas_file;
  std::string azure_key_file;
  std::string ca_file;
  std::int64_t part_mb = 16;
  std::int64_t stall_s = 60;
};

}  // namespace millrace::objstore
