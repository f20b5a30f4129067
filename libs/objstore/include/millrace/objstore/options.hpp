#pragma once

// The settings of an object-store location, shared by millrace-archiver and
// `millrace archive`: registered once here, so both spell them alike.

#include <cstdint>
#include <string>

#include "millrace/core/options.hpp"
#include "millrace/objstore/location.hpp"
#include "millrace/objstore/s3_addressing.hpp"
#include "millrace/objstore/settings.hpp"

namespace millrace::objstore {

// The settings (declared in libs/objstore/src/settings.cpp: S3's endpoint,
// region, addressing and credentials, Azure's SAS token or shared key
// file, and, for both, the CA certificates, the part size of multipart and
// block uploads and how long a request may go without progress) and the
// location.
struct StoreOptions : StoreSettings {
  // The location's URL (location.hpp). The flag and variable are the
  // caller's (--archive-url, MILLRACE_ARCHIVE_URL).
  std::string url;

  Location location;  // set by validate()
};

// Registers every setting but the URL.
void register_options(core::OptionSet& options, StoreOptions& store);
// Parses the URL and checks the settings against it. Throws
// core::UsageError naming the setting.
void validate(StoreOptions& store);

}  // namespace millrace::objstore
