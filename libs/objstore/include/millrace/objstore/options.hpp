#pragma once

// The settings of an object-store location, shared by millrace-archiver and
// `millrace archive`: registered once here, so both spell them alike.

#include <cstdint>
#include <string>

#include "millrace/core/options.hpp"
#include "millrace/objstore/location.hpp"

namespace millrace::objstore {

// How S3 requests name the bucket (StoreOptions::s3_addressing).
enum class S3Addressing : std::uint8_t { kAuto, kPath, kVirtual };
inline constexpr core::EnumNames<S3Addressing, 3> kS3AddressingNames({{S3Addressing::kAuto, "auto"},
                                                                      {S3Addressing::kPath, "path"},
                                                                      {S3Addressing::kVirtual,
                                                                       "virtual"}});

struct StoreOptions {
  // The location's URL (location.hpp). The flag and variable are the
  // caller's (--archive-url, MILLRACE_ARCHIVE_URL).
  std::string url;

  // S3: the endpoint (empty: AWS's for the region), the region, the
  // addressing ("auto": virtual-hosted on AWS, path-style with an
  // endpoint), and the credentials: the standard AWS variables, or a shared
  // credentials file and profile.
  std::string s3_endpoint;
  std::string s3_region;
  S3Addressing s3_addressing = S3Addressing::kAuto;
  std::string aws_access_key_id;
  std::string aws_secret_access_key;
  std::string aws_session_token;
  std::string aws_credentials_file;
  std::string aws_profile = "default";

  // Azure: a SAS token or the account's shared key, each in a file.
  std::string azure_sas_file;
  std::string azure_key_file;

  // Both: CA certificates for an https endpoint (empty: the system's), the
  // part size of multipart and block uploads (files up to it go in one
  // request), and how long a request may go without progress.
  std::string ca_file;
  std::int64_t part_mb = 16;
  std::int64_t stall_s = 60;

  Location location;  // set by validate()
};

// Registers every setting but the URL.
void register_options(core::OptionSet& options, StoreOptions& store);
// Parses the URL and checks the settings against it. Throws
// core::UsageError naming the setting.
void validate(StoreOptions& store);

}  // namespace millrace::objstore
